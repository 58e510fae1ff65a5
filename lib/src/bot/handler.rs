//! The extension point for a bot's own logic: [`TurnHandler`].
//!
//! nudge does the framework work of every turn before the handler runs and
//! whatever it returns after: the activity is authenticated, parsed and
//! checked, the conversation's reference is saved or refreshed (and marked
//! inactive when the bot is removed or the app uninstalled), and the
//! replies the handler returns are sent within the turn under the rate
//! limits (or returned for `expectReplies`, or queued when the channel
//! refuses them). The handler decides only what to answer, and what to
//! send later through the queue ([`TurnContext::enqueue`]): the notifier
//! delivers that proactively, exactly once in effect, at the channel's
//! limits.
//!
//! nudge's own commands (`run`, `remind`, `subscribe`, ...) are the default
//! handler, [`Commands`]; a library user gives the host another one
//! (`AppState::with_turn_handler`, `LocalHost::start_with`).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use super::{Bot, BotError};
use crate::activity::Activity;
use crate::calendar::Zone;
use crate::notification::Notification;
use crate::queue::QueueError;
use crate::store::Store;
use crate::turn::Turn;

/// A bot's logic for one turn: the replies to send within it, in order.
///
/// Called for every activity that reaches the bot, after nudge has saved
/// the conversation's reference, except when the bot was removed from the
/// conversation or the app uninstalled (the reference is then inactive and
/// nothing can be sent there). An error answers the channel 500 and sends
/// nothing.
///
/// A reply whose `id` the handler sets (to a notification id of its
/// choosing) is recorded, once the channel took it, as the delivery of that
/// notification, so it can be changed later like any notification
/// ([`Notification::change_of`], `PATCH` and `DELETE
/// /api/notifications/{id}`): nudge's own `run` does so with the job's
/// announcement, and edits it when the job completes. The id is not sent
/// to the channel.
#[async_trait]
pub trait TurnHandler: Send + Sync {
    /// The bot's answer to one turn: the activities to send back as replies
    /// (none is fine). Errors are the store's or the queue's; the turn is
    /// answered 500 and the channel may retry it.
    async fn on_turn(&self, turn: &Turn, cx: &TurnContext<'_>) -> Result<Vec<Activity>, BotError>;
}

/// What a [`TurnHandler`] may use during a turn.
pub struct TurnContext<'a> {
    pub(super) bot: &'a Bot,
    pub(super) turn: &'a Turn,
    pub(super) now: Timestamp,
}

impl TurnContext<'_> {
    /// The store, for the handler's own reads and writes (references,
    /// subscriptions, jobs, reminders).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.bot.store
    }

    /// Puts notifications on the queue for the notifier to deliver
    /// (delayed to their `not_before`, if set).
    pub async fn enqueue(&self, notifications: &[Notification]) -> Result<(), QueueError> {
        self.bot.enqueue(notifications).await
    }

    /// When this turn began.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The user's time zone: the channel's `localTimezone`, else the
    /// configured default (read when asked: most turns never need it).
    pub fn zone(&self) -> Zone {
        self.bot.zone_for(self.turn)
    }
}

/// nudge's own commands, the default [`TurnHandler`]: `run`, `show jobs`,
/// `done`, `subscribe`, `unsubscribe`, `remind`, `reminders`, `cancel`,
/// `help`; a welcome for members added to a conversation; and the
/// `jobComplete` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands;

#[async_trait]
impl TurnHandler for Commands {
    async fn on_turn(&self, turn: &Turn, cx: &TurnContext<'_>) -> Result<Vec<Activity>, BotError> {
        cx.bot.commands(turn).await
    }
}
