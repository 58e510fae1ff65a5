//! `subscribe` and `unsubscribe`: who receives broadcasts.
//!
//! A new subscriber is told so proactively a few seconds later, through the
//! queue and the notifier like any other proactive message, which proves the
//! whole path works for that conversation.

use std::time::Duration;

use crate::activity::Activity;
use crate::notification::{Notification, Reason};
use crate::turn::Turn;

use super::caps::{self, Capped};
use super::{replies, Bot, BotError};

/// How long after subscribing the confirmation notice arrives.
pub const NOTICE_DELAY: Duration = Duration::from_secs(3);

impl Bot {
    pub(super) async fn subscribe(
        &self,
        turn: &Turn,
        tag: Option<&str>,
    ) -> Result<String, BotError> {
        let full = caps::check(
            self.store.as_ref(),
            &self.caps,
            Capped::Subscriptions,
            &turn.key,
            None,
        )
        .await?;
        if let Some(full) = full {
            return Ok(replies::cap_reached(&full));
        }
        let now = self.now();
        let newly = self.store.subscribe(&turn.key, tag, now).await?;
        if newly {
            let notice = Notification::to_conversation(
                turn.key.clone(),
                Activity::message(replies::SUBSCRIBED_NOTICE),
                Reason::Subscribed,
            )
            .delayed(now, NOTICE_DELAY);
            self.enqueue(&[notice]).await?;
            tracing::info!(tag, "conversation subscribed");
        }
        Ok(replies::subscribed(tag, newly))
    }

    pub(super) async fn unsubscribe(
        &self,
        turn: &Turn,
        tag: Option<&str>,
    ) -> Result<String, BotError> {
        let removed = self.store.unsubscribe(&turn.key, tag).await?;
        Ok(replies::unsubscribed(tag, removed))
    }
}
