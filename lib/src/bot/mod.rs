//! The turn logic: what the bot does with each incoming activity.
//!
//! [`Bot::handle`] takes a checked [`Turn`], does the framework work
//! (saving or deactivating the conversation's reference), asks the bot's
//! [`TurnHandler`] (nudge's [`Commands`] unless the host was given another)
//! and returns the activities to send back within the turn (typing
//! indicators, replies); it never talks to the channel itself. That keeps
//! the bot testable on its own and lets the HTTP layer choose how replies
//! travel (reply-to-activity calls, or the response body for
//! `deliveryMode: expectReplies`). Anything slow or
//! proactive leaves the turn as a [`Notification`] on the queue.
//!
//! Every activity that reaches the bot from a conversation refreshes that
//! conversation's stored reference, so the bot can always speak there later.

mod caps;
pub mod command;
mod directory;
mod handler;
mod job_completion;
mod jobs;

pub use caps::{CapReached, Caps};
pub use handler::{Commands, TurnContext, TurnHandler};
pub use job_completion::JobCompletion;
pub use jobs::{CompletionRefusal, JobScope};
pub use reminders::ReminderRefusal;
mod reminders;
pub mod replies;
mod subscriptions;
mod team_channels;

#[cfg(all(test, feature = "local"))]
mod clock_tests;

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;

use crate::activity::{kind, Activity};
use crate::calendar::Zone;
use crate::clock::{Clock, SystemClock};
use crate::notification::Notification;
use crate::queue::{Queue, QueueError};
use crate::store::{Store, StoreError, StoredReference};
use crate::turn::Turn;
use command::Command;

/// Why a turn could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Names of the event activity that completes a job.
const JOB_COMPLETE_EVENTS: [&str; 2] = ["jobComplete", "jobCompleted"];

/// Attempts at finding an unused id for a new job or reminder before
/// giving up (collisions are one in 31^8 per pair; this is only a guard).
const ID_ATTEMPTS: usize = 5;

/// Parked reminders one returning conversation resumes in one turn.
const RESUME_AT_ONCE: usize = 200;

/// The bot: the framework work of every turn (saving and deactivating
/// conversation references) around a [`TurnHandler`].
#[derive(Clone)]
pub struct Bot {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    /// The time zone of users whose channel sends no `localTimezone`.
    default_zone: Zone,
    /// Who may see and complete a job from chat.
    job_scope: JobScope,
    /// How much a conversation or user may hold at once.
    caps: Caps,
    /// The bot's own logic for each turn.
    handler: Arc<dyn TurnHandler>,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// What this process has written to the Teams directory.
    noted: directory::Noted,
}

impl Bot {
    /// A bot whose users are in UTC unless their channel says otherwise,
    /// with jobs scoped to their tenant and the default caps.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>) -> Self {
        Bot {
            store,
            queue,
            default_zone: Zone::utc(),
            job_scope: JobScope::default(),
            caps: Caps::default(),
            handler: Arc::new(Commands),
            clock: Arc::new(SystemClock),
            noted: directory::Noted::default(),
        }
    }

    /// Sets where "now" comes from (the system's clock unless set).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the bot's clock.
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Sets the bot's logic for each turn (nudge's [`Commands`] unless set).
    pub fn with_handler(mut self, handler: Arc<dyn TurnHandler>) -> Self {
        self.handler = handler;
        self
    }

    /// Sets who may see and complete a job from chat.
    pub fn with_job_scope(mut self, scope: JobScope) -> Self {
        self.job_scope = scope;
        self
    }

    /// Sets how much a conversation or user may hold at once.
    pub fn with_caps(mut self, caps: Caps) -> Self {
        self.caps = caps;
        self
    }

    /// Sets the time zone of users whose channel sends no `localTimezone`.
    pub fn with_default_zone(mut self, zone: Zone) -> Self {
        self.default_zone = zone;
        self
    }

    /// The time zone of users whose channel sends no `localTimezone`.
    pub fn default_zone(&self) -> &Zone {
        &self.default_zone
    }

    /// Handles one turn; returns the replies to send, in order.
    ///
    /// The framework work comes first: a message, an event, an install or
    /// members added (the bot among them) save or refresh the
    /// conversation's reference; the bot removed or the app uninstalled
    /// deactivate it, and the handler is not asked (nothing could be sent
    /// there). Then the handler answers.
    #[tracing::instrument(skip_all, fields(conversation = %turn.key, kind = turn.activity.kind.as_deref().unwrap_or_default()))]
    pub async fn handle(&self, turn: &Turn) -> Result<Vec<Activity>, BotError> {
        let activity = &turn.activity;
        if activity.is(kind::MESSAGE) || activity.is(kind::EVENT) {
            self.remember(turn).await?;
        } else if activity.is(kind::CONVERSATION_UPDATE) {
            self.follow_channel_event(turn).await?;
            let bot_removed = activity
                .members_removed
                .iter()
                .flatten()
                .any(|m| turn.is_bot(&m.id));
            if bot_removed {
                self.store
                    .deactivate_reference(&turn.key, "bot removed from the conversation")
                    .await?;
                return Ok(Vec::new());
            }
            if activity
                .members_added
                .as_ref()
                .is_some_and(|m| !m.is_empty())
            {
                self.remember(turn).await?;
            }
        } else if activity.is(kind::INSTALLATION_UPDATE) {
            if activity
                .action
                .as_deref()
                .is_some_and(|action| action.starts_with("remove"))
            {
                self.store
                    .deactivate_reference(&turn.key, "app uninstalled")
                    .await?;
                return Ok(Vec::new());
            }
            self.remember(turn).await?;
        }
        let cx = TurnContext {
            bot: self,
            turn,
            now: self.now(),
        };
        self.handler.on_turn(turn, &cx).await
    }

    /// nudge's own answer to a turn ([`Commands`]): commands in messages,
    /// a welcome for members added, the job-complete event.
    pub(crate) async fn commands(&self, turn: &Turn) -> Result<Vec<Activity>, BotError> {
        let activity = &turn.activity;
        if activity.is(kind::MESSAGE) {
            let text = activity.text.as_deref().unwrap_or_default();
            return self.command(turn, Command::parse(text)).await;
        }
        if activity.is(kind::CONVERSATION_UPDATE) {
            return Ok(activity
                .members_added
                .iter()
                .flatten()
                .filter(|m| !turn.is_bot(&m.id))
                .map(|member| Activity::message(replies::welcome(member.name.as_deref())))
                .collect());
        }
        if activity.is(kind::EVENT) {
            let name = activity.name.as_deref().unwrap_or_default();
            if JOB_COMPLETE_EVENTS
                .iter()
                .any(|e| e.eq_ignore_ascii_case(name))
            {
                self.job_complete_event(turn).await?;
            }
            return Ok(Vec::new());
        }
        if !activity.is(kind::INSTALLATION_UPDATE) {
            tracing::debug!("activity type not handled; ignored");
        }
        Ok(Vec::new())
    }

    async fn command(&self, turn: &Turn, command: Command) -> Result<Vec<Activity>, BotError> {
        let reply = |text: String| vec![Activity::message(text)];
        Ok(match command {
            Command::Run { seconds } => self.run_job(turn, seconds).await?,
            Command::ShowJobs => reply(self.show_jobs(turn).await?),
            Command::Done(id) => reply(self.complete_job(turn, &id).await?),
            Command::Subscribe { tag } => reply(self.subscribe(turn, tag.as_deref()).await?),
            Command::Unsubscribe { tag } => reply(self.unsubscribe(turn, tag.as_deref()).await?),
            Command::Remind(request) => reply(self.remind(turn, request).await?),
            Command::ListReminders => reply(self.list_reminders(turn).await?),
            Command::Cancel(id) => reply(self.cancel_reminder(turn, &id).await?),
            Command::Help => reply(replies::help()),
            Command::Invalid(problem) => reply(replies::problem(&problem)),
        })
    }

    /// Stores or refreshes the turn's conversation reference, active again;
    /// a conversation that was closed to the bot (blocked, uninstalled)
    /// gets its parked reminders back.
    async fn remember(&self, turn: &Turn) -> Result<(), StoreError> {
        let earlier = self.store.get_reference(&turn.key).await?;
        let was_inactive = earlier.as_ref().is_some_and(|stored| !stored.active);
        let earlier_place = earlier.as_ref().and_then(|e| e.team_channel.as_ref());
        let team_channel = turn
            .activity
            .team_channel()
            .map(|place| place.with_names_from(earlier_place));
        let mut reference = turn.activity.conversation_reference();
        if let (Some(conversation), Some(tenant)) = (reference.conversation.as_mut(), turn.tenant())
        {
            // Teams may name the tenant only in channelData: keep it where
            // the reference's readers (job scope, rate limits) look.
            conversation
                .tenant_id
                .get_or_insert_with(|| tenant.to_owned());
        }
        let stored = StoredReference {
            key: turn.key.clone(),
            reference,
            active: true,
            inactive_reason: None,
            last_seen: self.now(),
            provenance: turn.provenance,
            team_channel,
        };
        self.store.save_reference(&stored).await?;
        self.noted
            .note(self.store.as_ref(), &stored, self.now())
            .await?;
        if was_inactive {
            self.resume_reminders(&turn.key).await?;
        }
        Ok(())
    }

    async fn enqueue(&self, notifications: &[Notification]) -> Result<(), QueueError> {
        crate::notification::enqueue(self.queue.as_ref(), notifications).await
    }
}

/// Stores a record made by `make` under a fresh id, making another one
/// when `insert` finds the id taken.
async fn insert_fresh<T, Fut>(
    make: impl Fn() -> T,
    insert: impl Fn(T) -> Fut,
) -> Result<T, StoreError>
where
    T: Clone,
    Fut: Future<Output = Result<(), StoreError>>,
{
    for _ in 0..ID_ATTEMPTS {
        let record = make();
        match insert(record.clone()).await {
            Ok(()) => return Ok(record),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend("could not find an unused id".into()))
}
