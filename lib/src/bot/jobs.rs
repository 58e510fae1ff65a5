//! Jobs: `run`, `show`, `done`, and the `jobComplete` event.
//!
//! A job belongs to the conversation that started it. Completion is asked
//! for from anywhere (`done` in another conversation, an event, a timer),
//! moves the job to `completing` with a conditional write, and leaves as one
//! notification with a fixed id per job, so two requests to complete it end
//! in one "is complete" message. The notifier marks it `complete` and tells
//! the owner.

use std::time::Duration;

use jiff::Timestamp;

use crate::activity::Activity;
use crate::ids::JobId;
use crate::notification::{Notification, Reason, Target};
use crate::store::{Job, JobStatus, TransitionError};
use crate::turn::Turn;

use super::{insert_fresh, replies, Bot, BotError};

impl Bot {
    pub(super) async fn run_job(
        &self,
        turn: &Turn,
        seconds: Option<u32>,
    ) -> Result<Vec<Activity>, BotError> {
        let job = self.create_job(turn).await?;
        if let Some(seconds) = seconds {
            let completion = completion_notification(&job, None)
                .delayed(Timestamp::now(), Duration::from_secs(seconds.into()));
            self.enqueue(&[completion]).await?;
        }
        tracing::info!(job = %job.id, ?seconds, "job started");
        Ok(vec![
            Activity::typing(),
            Activity::message(replies::job_started(&job.id, seconds)),
        ])
    }

    async fn create_job(&self, turn: &Turn) -> Result<Job, BotError> {
        let store = &self.store;
        let make = || Job {
            id: JobId::generate(),
            owner: turn.key.clone(),
            status: JobStatus::Running,
            created_at: Timestamp::now(),
            completed_at: None,
        };
        Ok(insert_fresh(make, |job| async move { store.insert_job(&job).await }).await?)
    }

    pub(super) async fn show_jobs(&self) -> Result<String, BotError> {
        let jobs = self.store.list_jobs(replies::JOB_LOG_LIMIT + 1).await?;
        Ok(replies::job_log(&jobs))
    }

    /// `done <id>`: the reply says what happened.
    pub(super) async fn complete_job(&self, id: &JobId) -> Result<String, BotError> {
        match self.request_completion(id, None).await? {
            Ok(_) => Ok(replies::completing(id)),
            Err(CompletionRefusal::NotFound) => Ok(replies::no_such_job(id)),
            Err(CompletionRefusal::State(job)) => Ok(replies::not_completable(&job)),
        }
    }

    /// The `jobComplete` event: the same as `done`, without a reply (events
    /// come from programs, not people).
    pub(super) async fn job_complete_event(&self, turn: &Turn) -> Result<(), BotError> {
        let raw = match turn.activity.value.as_ref() {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let Ok(id) = raw.parse::<JobId>() else {
            tracing::warn!(value = %raw, "jobComplete event without a valid job id; ignored");
            return Ok(());
        };
        if let Err(refusal) = self.request_completion(&id, None).await? {
            tracing::info!(job = %id, ?refusal, "jobComplete event refused");
        }
        Ok(())
    }

    /// Moves the job to `completing` and enqueues its completion, which
    /// tells the owner (with `result` after the notice, when given); undoes
    /// the move if the enqueue fails, so the job is never stuck. Every way
    /// of completing a job (`done`, the `jobComplete` event, the webhook
    /// API) comes here. Returns the job as moved, or why it cannot be.
    pub async fn request_completion(
        &self,
        id: &JobId,
        result: Option<&str>,
    ) -> Result<Result<Job, CompletionRefusal>, BotError> {
        let now = Timestamp::now();
        let job = match self
            .store
            .transition_job(id, &[JobStatus::Running], JobStatus::Completing, now)
            .await
        {
            Ok(job) => job,
            Err(TransitionError::NotFound) => return Ok(Err(CompletionRefusal::NotFound)),
            Err(TransitionError::WrongState(job)) => return Ok(Err(CompletionRefusal::State(job))),
            Err(TransitionError::Store(e)) => return Err(e.into()),
        };
        if let Err(e) = self.enqueue(&[completion_notification(&job, result)]).await {
            let undo = self
                .store
                .transition_job(id, &[JobStatus::Completing], JobStatus::Running, now)
                .await;
            if let Err(undo) = undo {
                tracing::error!(job = %id, error = %undo, "could not undo a completion that failed to enqueue");
            }
            return Err(e.into());
        }
        tracing::info!(job = %id, owner = %job.owner, "job completion requested");
        Ok(Ok(job))
    }
}

/// Why a job cannot be completed.
#[derive(Debug)]
pub enum CompletionRefusal {
    NotFound,
    /// It is not running (completing or complete already).
    State(Job),
}

/// The notification that completes `job` and tells its owner.
pub(crate) fn completion_notification(job: &Job, result: Option<&str>) -> Notification {
    let notice = replies::job_complete(&job.id);
    let text = match result {
        Some(result) => format!("{notice}\n\n{result}"),
        None => notice,
    };
    Notification {
        id: Notification::job_completion_id(&job.id),
        target: Target::Conversation {
            key: job.owner.clone(),
        },
        activity: Activity::message(text),
        reason: Reason::JobComplete {
            job_id: job.id.clone(),
        },
        not_before: None,
    }
}
