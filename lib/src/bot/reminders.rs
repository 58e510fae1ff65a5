//! Reminders in chat: `remind me …`, `reminders`, `cancel <id>`.
//!
//! A reminder belongs to the conversation it was set in: it is delivered
//! there, listed there, and only cancelled from there. Times are read and
//! shown in the user's zone, which is the channel's `localTimezone` when it
//! names an IANA zone (Teams and Web Chat send it), else the configured
//! default.
//!
//! Setting one resolves the phrase completely ([`ReminderSpec::resolve`])
//! before anything is written, so a refused request stores nothing.
//! Cancelling is the same conditional write the tick uses to advance a
//! reminder ([`crate::store::ReminderStore::advance_reminder`]), so a cancel and a
//! tick racing on one occurrence end in exactly one of them; a cancel that
//! loses reads the reminder again once and tries again (a repeating one was
//! just moved to its next occurrence), and otherwise says it lost.

use crate::calendar::Zone;
use crate::ids::{ConversationKey, ReminderId};
use crate::schedule::{Refusal, ReminderRequest, ReminderSpec};
use crate::store::{Reminder, ReminderStatus, StoreError};
use crate::turn::Turn;

use super::caps::{self, CapReached, Capped};
use super::{insert_fresh, replies, Bot, BotError, RESUME_AT_ONCE};

/// Why a reminder was not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderRefusal {
    /// The request itself cannot be a reminder (past, too far, ...).
    Spec(Refusal),
    /// The conversation or the user holds as many as they may.
    Full(CapReached),
}

/// Reads and conditional writes a cancel makes before giving up.
const CANCEL_ATTEMPTS: usize = 2;

impl Bot {
    /// The user's time zone for this turn.
    pub(super) fn zone_for(&self, turn: &Turn) -> Zone {
        turn.activity
            .local_timezone
            .as_deref()
            .and_then(|name| Zone::parse(name).ok())
            .unwrap_or_else(|| self.default_zone.clone())
    }

    /// `remind me …`: the reply confirms, or says why not.
    pub(super) async fn remind(
        &self,
        turn: &Turn,
        request: ReminderRequest,
    ) -> Result<String, BotError> {
        let zone = self.zone_for(turn);
        match self
            .schedule_reminder(turn.key.clone(), request, zone.clone(), turn.user())
            .await?
        {
            Ok(reminder) => Ok(replies::reminder_set(&reminder, &zone)),
            Err(ReminderRefusal::Spec(refusal)) => Ok(replies::reminder_refused(&refusal, &zone)),
            Err(ReminderRefusal::Full(full)) => Ok(replies::cap_reached(&full)),
        }
    }

    /// Sets a reminder in `owner`'s conversation for a user in `zone`, by
    /// the rules of [`ReminderSpec::resolve`] and within the caps of the
    /// conversation and of the user who asks (`created_by`,
    /// `{channelId}#{userId}`; none for the webhook API): `remind me` and
    /// the webhook API both come here. A refused request stores nothing.
    pub async fn schedule_reminder(
        &self,
        owner: ConversationKey,
        request: ReminderRequest,
        zone: Zone,
        created_by: Option<String>,
    ) -> Result<Result<Reminder, ReminderRefusal>, BotError> {
        let now = self.now();
        let spec = match ReminderSpec::resolve(request, zone, now) {
            Ok(spec) => spec,
            Err(refusal) => return Ok(Err(ReminderRefusal::Spec(refusal))),
        };
        let full = caps::check(
            self.store.as_ref(),
            &self.caps,
            Capped::Reminders,
            &owner,
            created_by.as_deref(),
        )
        .await?;
        if let Some(full) = full {
            return Ok(Err(ReminderRefusal::Full(full)));
        }
        let store = &self.store;
        let make = || Reminder {
            created_by: created_by.clone(),
            ..spec
                .clone()
                .into_reminder(ReminderId::generate(), owner.clone(), now)
        };
        let reminder = insert_fresh(make, |reminder| async move {
            store.insert_reminder(&reminder).await
        })
        .await?;
        tracing::info!(reminder = %reminder.id, owner = %reminder.owner, next_due = %reminder.next_due, "reminder set");
        Ok(Ok(reminder))
    }

    /// Makes a returning conversation's parked reminders pending again,
    /// due as they were: the next tick fires the ones that fell due while
    /// it was closed, once and late, and moves repeating ones on.
    pub(super) async fn resume_reminders(&self, owner: &ConversationKey) -> Result<(), StoreError> {
        let parked = self.store.parked_reminders(owner, RESUME_AT_ONCE).await?;
        let mut resumed = 0;
        for reminder in parked {
            let pending = Reminder {
                status: ReminderStatus::Pending,
                ..reminder
            };
            resumed += usize::from(self.store.resume_reminder(&pending).await?);
        }
        if resumed > 0 {
            tracing::info!(conversation = %owner, resumed, "parked reminders resumed");
        }
        Ok(())
    }

    /// `reminders`: this conversation's pending ones, soonest first.
    pub(super) async fn list_reminders(&self, turn: &Turn) -> Result<String, BotError> {
        let reminders = self
            .store
            .list_reminders(&turn.key, replies::REMINDER_LIST_LIMIT + 1)
            .await?;
        Ok(replies::reminder_list(&reminders, &self.zone_for(turn)))
    }

    /// `cancel <id>`: only a pending reminder of this conversation.
    pub(super) async fn cancel_reminder(
        &self,
        turn: &Turn,
        id: &ReminderId,
    ) -> Result<String, BotError> {
        for _ in 0..CANCEL_ATTEMPTS {
            let Some(reminder) = self.store.get_reminder(id).await? else {
                return Ok(replies::no_such_reminder(id));
            };
            if reminder.owner != turn.key {
                return Ok(replies::not_your_reminder(id));
            }
            if reminder.status != ReminderStatus::Pending {
                return Ok(replies::not_cancellable(&reminder));
            }
            let cancelled = Reminder {
                status: ReminderStatus::Cancelled,
                ..reminder
            };
            let expected_due = cancelled.next_due;
            if self
                .store
                .advance_reminder(expected_due, &cancelled)
                .await?
            {
                tracing::info!(reminder = %id, "reminder cancelled");
                return Ok(replies::reminder_cancelled(&cancelled));
            }
        }
        Ok(replies::cancel_busy(id))
    }
}
