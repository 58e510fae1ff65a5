//! What delivering a notification also does, or checks, before the send.
//!
//! - A job completion marks the job complete first (a retry after the mark
//!   finds it complete and goes on).
//! - A reminder is delivered only while the reminder still wants it: the
//!   tick enqueues an occurrence and only then moves the reminder on, and a
//!   user may cancel in between, or while the occurrence waits on the
//!   queue. A cancelled (or vanished) reminder's notification ends as
//!   failed, with the reason, and nothing reaches the chat.

use crate::ids::ReminderId;
use crate::notification::{Notification, Reason};
use crate::store::{JobStatus, ReminderStatus, TransitionError};

use super::{DeliveryError, Notifier};

impl Notifier {
    /// `Ok(Err(why))`: the notification must not be delivered.
    pub(super) async fn side_effects(
        &self,
        notification: &Notification,
    ) -> Result<Result<(), String>, DeliveryError> {
        match &notification.reason {
            Reason::JobComplete { job_id } => self.complete_job(job_id).await,
            Reason::Reminder { reminder_id } => self.reminder_wanted(reminder_id).await,
            _ => Ok(Ok(())),
        }
    }

    async fn complete_job(
        &self,
        job_id: &crate::ids::JobId,
    ) -> Result<Result<(), String>, DeliveryError> {
        let result = self
            .store
            .transition_job(
                job_id,
                &[JobStatus::Running, JobStatus::Completing],
                JobStatus::Complete,
                self.clock.now(),
            )
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            // A retry after the job was marked but before the send.
            Err(TransitionError::WrongState(job)) if job.status == JobStatus::Complete => {
                Ok(Ok(()))
            }
            Err(TransitionError::WrongState(job)) => {
                Ok(Err(format!("job {} is {}", job.id, job.status)))
            }
            Err(TransitionError::NotFound) => Ok(Err(format!("job {job_id} not found"))),
            Err(TransitionError::Store(e)) => Err(e.into()),
        }
    }

    async fn reminder_wanted(
        &self,
        reminder_id: &ReminderId,
    ) -> Result<Result<(), String>, DeliveryError> {
        Ok(match self.store.get_reminder(reminder_id).await? {
            None => Err(format!("reminder {reminder_id} not found")),
            Some(r) if r.status == ReminderStatus::Cancelled => {
                Err(format!("reminder {reminder_id} was cancelled"))
            }
            Some(_) => Ok(()),
        })
    }
}
