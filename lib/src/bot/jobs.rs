//! Jobs: `run`, `show`, `done`, and the `jobComplete` event.
//!
//! A job belongs to the conversation that started it. Completion is asked
//! for from another conversation (`done`, an event: the job service of the
//! sample), a timer or the webhook API, moves the job to `completing` with
//! a conditional write, and leaves as one notification with a fixed id per
//! job, so two requests to complete it end in one "is complete" message.
//! The notifier marks it `complete` and tells the owner.
//!
//! From chat, jobs are seen (`show`) and completed (`done`, the event) only
//! within a [`JobScope`]: by default the owner's tenant (conversations
//! without one, like the Emulator's, share one scope), never across
//! tenants, so one organisation neither reads another's job log nor pushes
//! messages into its chats; `NUDGE_JOB_SCOPE=conversation` narrows it to
//! the job's own conversation. A job outside the scope is answered as
//! unknown. The webhook API, authenticated as the job service, is not
//! scoped.

use std::time::Duration;

use crate::activity::Activity;
use crate::env::{ConfigError, Env};
use crate::ids::{JobId, NotificationId};
use crate::notification::{Edit, Notification, Operation, Reason, Target};
use crate::store::{Job, JobStatus, TransitionError};
use crate::turn::Turn;

use super::caps::{self, Capped};
use super::{insert_fresh, replies, Bot, BotError};

/// Who may see and complete a job from chat (`NUDGE_JOB_SCOPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobScope {
    /// Conversations of the owner's tenant (the default).
    #[default]
    Tenant,
    /// The owner conversation only.
    Conversation,
}

impl JobScope {
    /// The variable holding the scope.
    pub const VARIABLE: &'static str = "NUDGE_JOB_SCOPE";

    /// Reads it; `tenant` unless set.
    pub fn from_env(env: &dyn Env) -> Result<JobScope, ConfigError> {
        match env
            .get(Self::VARIABLE)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("tenant") => Ok(JobScope::Tenant),
            Some("conversation") => Ok(JobScope::Conversation),
            Some(other) => Err(ConfigError {
                variable: Self::VARIABLE,
                problem: format!("`{other}` is neither `tenant` nor `conversation`"),
            }),
        }
    }

    /// The job log a turn sees, and that a job started in it is listed in.
    pub fn log(self, turn: &Turn) -> String {
        match self {
            JobScope::Tenant => format!("tenant:{}", turn.tenant().unwrap_or_default()),
            JobScope::Conversation => format!("conversation:{}", turn.key),
        }
    }

    /// Whether a turn may complete `job`.
    pub fn admits(self, job: &Job, turn: &Turn) -> bool {
        match self {
            JobScope::Tenant => job.tenant.as_deref() == turn.tenant(),
            JobScope::Conversation => job.owner == turn.key,
        }
    }
}

impl Bot {
    pub(super) async fn run_job(
        &self,
        turn: &Turn,
        seconds: Option<u32>,
    ) -> Result<Vec<Activity>, BotError> {
        let user = turn.user();
        let full = caps::check(
            self.store.as_ref(),
            &self.caps,
            Capped::Jobs,
            &turn.key,
            user.as_deref(),
        )
        .await?;
        if let Some(full) = full {
            return Ok(vec![Activity::message(replies::cap_reached(&full))]);
        }
        let job = self.create_job(turn).await?;
        if let Some(seconds) = seconds {
            let completion = completion_notifications(&job, None)
                .map(|n| n.delayed(self.now(), Duration::from_secs(seconds.into())));
            self.enqueue(&completion).await?;
        }
        tracing::info!(job = %job.id, ?seconds, "job started");
        // Recorded as a delivery of its own, so that the completion can
        // edit it in place.
        let mut started = Activity::message(replies::job_started(&job.id, seconds));
        started.id = Some(NotificationId::job_started(&job.id).to_string());
        Ok(vec![Activity::typing(), started])
    }

    async fn create_job(&self, turn: &Turn) -> Result<Job, BotError> {
        let store = &self.store;
        let log = self.job_scope.log(turn);
        let (tenant, created_by) = (turn.tenant().map(str::to_owned), turn.user());
        let make = || Job {
            id: JobId::generate(),
            owner: turn.key.clone(),
            status: JobStatus::Running,
            created_at: self.now(),
            completed_at: None,
            tenant: tenant.clone(),
            log: log.clone(),
            created_by: created_by.clone(),
        };
        Ok(insert_fresh(make, |job| async move { store.insert_job(&job).await }).await?)
    }

    /// `show`: the job log of the turn's scope.
    pub(super) async fn show_jobs(&self, turn: &Turn) -> Result<String, BotError> {
        let log = self.job_scope.log(turn);
        let jobs = self
            .store
            .list_jobs(&log, replies::JOB_LOG_LIMIT + 1)
            .await?;
        Ok(replies::job_log(&jobs))
    }

    /// Completion asked for from chat: only a job the turn's scope admits
    /// (any other is answered as unknown).
    async fn complete_from_chat(
        &self,
        turn: &Turn,
        id: &JobId,
    ) -> Result<Result<Job, CompletionRefusal>, BotError> {
        let admitted = self
            .store
            .get_job(id)
            .await?
            .is_some_and(|job| self.job_scope.admits(&job, turn));
        if !admitted {
            return Ok(Err(CompletionRefusal::NotFound));
        }
        self.request_completion(id, None).await
    }

    /// `done <id>`: the reply says what happened.
    pub(super) async fn complete_job(&self, turn: &Turn, id: &JobId) -> Result<String, BotError> {
        match self.complete_from_chat(turn, id).await? {
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
            tracing::warn!(value = %crate::telemetry::untrusted(&raw), "jobComplete event without a valid job id; ignored");
            return Ok(());
        };
        if let Err(refusal) = self.complete_from_chat(turn, &id).await? {
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
        let now = self.now();
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
        if let Err(e) = self.enqueue(&completion_notifications(&job, result)).await {
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
    /// No such job (or none the asker may see).
    NotFound,
    /// It is not running (completing or complete already).
    State(Job),
}

/// What completes `job`: the message that tells its owner, and the edit
/// of the reply that announced its start (recorded under
/// [`NotificationId::job_started`]), which now says it is complete. Both
/// carry [`Reason::JobComplete`], so whichever goes first marks the job
/// complete, and a cancelled job gets neither; an announcement that was
/// never recorded (replies returned by `expectReplies`) has nothing to
/// edit.
pub(crate) fn completion_notifications(job: &Job, result: Option<&str>) -> [Notification; 2] {
    let mut edit = Notification::change_of(
        NotificationId::job_started(&job.id),
        Edit::Update,
        Activity::message(replies::job_started_now_complete(&job.id)),
    );
    edit.id = NotificationId::job_started_edit(&job.id);
    edit.reason = Reason::JobComplete {
        job_id: job.id.clone(),
    };
    [completion_notification(job, result), edit]
}

/// The notification that completes `job` and tells its owner.
fn completion_notification(job: &Job, result: Option<&str>) -> Notification {
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
        operation: Operation::Send,
    }
}
