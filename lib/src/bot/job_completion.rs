//! The delivery hook of a job's completion message: the job is marked
//! complete before its "Job … is complete." message goes out, so that a
//! user who sees the message finds the job complete. A retry after the mark
//! (the send failed, or the notifier died) finds it complete and goes on; a
//! job that is neither running nor completing (cancelled, or gone) is not
//! announced.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::delivery::{BeforeSend, DeliveryHook};
use crate::notification::{Notification, Reason};
use crate::store::{JobStatus, JobStore, StoreError, TransitionError};

/// The job-completion hook (see the module doc).
pub struct JobCompletion {
    jobs: Arc<dyn JobStore>,
}

impl JobCompletion {
    /// The hook on this job store.
    pub fn new(jobs: Arc<dyn JobStore>) -> JobCompletion {
        JobCompletion { jobs }
    }
}

#[async_trait]
impl DeliveryHook for JobCompletion {
    async fn before_send(
        &self,
        notification: &Notification,
        now: Timestamp,
    ) -> Result<BeforeSend, StoreError> {
        let Reason::JobComplete { job_id } = &notification.reason else {
            return Ok(BeforeSend::Send);
        };
        let from = [JobStatus::Running, JobStatus::Completing];
        match self
            .jobs
            .transition_job(job_id, &from, JobStatus::Complete, now)
            .await
        {
            Ok(_) => Ok(BeforeSend::Send),
            Err(TransitionError::WrongState(job)) if job.status == JobStatus::Complete => {
                Ok(BeforeSend::Send)
            }
            Err(TransitionError::WrongState(job)) => Ok(BeforeSend::Refuse(format!(
                "job {} is {}",
                job.id, job.status
            ))),
            Err(TransitionError::NotFound) => {
                Ok(BeforeSend::Refuse(format!("job {job_id} not found")))
            }
            Err(TransitionError::Store(e)) => Err(e),
        }
    }
}
