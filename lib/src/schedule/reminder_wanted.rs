//! The delivery hook of a reminder's occurrence: it is sent only while the
//! reminder still wants it. The tick enqueues an occurrence and only then
//! moves the reminder on, and a user may cancel in between, or while the
//! occurrence waits on the queue. A cancelled (or vanished) reminder's
//! notification ends as failed, with the reason, and nothing reaches the
//! chat.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::delivery::{BeforeSend, DeliveryHook};
use crate::notification::{Notification, Reason};
use crate::store::{ReminderStatus, ReminderStore, StoreError};

/// The still-wanted hook (see the module doc).
pub struct ReminderStillWanted {
    reminders: Arc<dyn ReminderStore>,
}

impl ReminderStillWanted {
    /// The hook on this reminder store.
    pub fn new(reminders: Arc<dyn ReminderStore>) -> ReminderStillWanted {
        ReminderStillWanted { reminders }
    }
}

#[async_trait]
impl DeliveryHook for ReminderStillWanted {
    async fn before_send(
        &self,
        notification: &Notification,
        _now: Timestamp,
    ) -> Result<BeforeSend, StoreError> {
        let Reason::Reminder { reminder_id } = &notification.reason else {
            return Ok(BeforeSend::Send);
        };
        Ok(match self.reminders.get_reminder(reminder_id).await? {
            None => BeforeSend::Refuse(format!("reminder {reminder_id} not found")),
            Some(r) if r.status == ReminderStatus::Cancelled => {
                BeforeSend::Refuse(format!("reminder {reminder_id} was cancelled"))
            }
            Some(_) => BeforeSend::Send,
        })
    }
}
