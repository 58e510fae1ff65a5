//! The notifier: turns queued notifications into Connector calls, once in
//! effect.
//!
//! For each queue message [`Notifier::process`] returns a [`Disposition`]:
//! `Done` (delete it: delivered, a duplicate, or never deliverable),
//! `RetryAfter` (leave it on the queue, visible again after that long: a
//! retry with backoff, or a rate-limit slot ahead) or `DeadLetter` (it
//! failed `max_attempts` times: to the dead-letter queue with its last
//! error; a redrive brings it back and its delivery starts over). It
//! never sleeps to wait out a channel: waiting is the queue's job, so the
//! same code works in a local loop and in a Lambda invocation. The one
//! wait it does in place is for a rate-limit slot closer than the queue
//! can express (under one [`crate::queue::QueueLimits::delay_resolution`] step: at most a
//! second on SQS); longer waits for a slot are asked of the queue in whole
//! steps (`delivery/limiter.rs` says why).
//!
//! Once in effect: every delivery is claimed in the store with a conditional
//! write before the send ([`crate::store::DeliveryStore::begin_delivery`]) and its
//! outcome recorded after it. A redelivered message (a worker crash, a
//! visibility timeout, a duplicate enqueue) finds the record finished and
//! sends nothing; one that finds another attempt's live lease goes back on
//! the queue until the lease has run out.
//!
//! **The window of doubt** is exactly this: the worker dies (or loses the
//! store) after the Connector call left it and before the outcome was
//! written, and the channel had accepted the activity. The claim then shows
//! a pending attempt whose lease ran out, and the next attempt sends again.
//! So at a crash the possible doubles are the sends in flight at that
//! instant, at most the notifier's concurrency (per Lambda invocation: its
//! batch concurrency), and each is one extra message. It cannot be closed
//! from this side: the Connector API takes no idempotency key and offers no
//! way to read back what a conversation received. It is kept as narrow as
//! the API allows: the claim is taken immediately before the call (after
//! every check and the rate-limit slot), the outcome is written
//! immediately after it, the call has a timeout ([`crate::connector::CALL_TIMEOUT`])
//! well inside the lease, so a slow call is never taken over while it may
//! still succeed, and nothing else (no retry, no fan-out) happens between.
//! An attempt that takes over such a claim writes
//! [`crate::store::IN_DOUBT`] into the record, so every possible double can
//! be found afterwards (`nudge deliveries`). `tests/tests/crash.rs` kills
//! the real binary mid-batch and counts the doubles against the sends in
//! flight and the records in doubt.
//!
//! Rate limits ([`crate::rate`]): each send takes a slot from its
//! conversation's limit and the bot's, in the store, so the limits hold
//! across every worker and every Lambda invocation. Retries are the
//! queue's job: `policy` decides, by status code, whether and when.
//! Dead letters: after `max_attempts` failures worth retrying the message
//! goes to the dead-letter queue with its last error; a redrive starts its
//! delivery over.

mod fanout;
mod hooks;
mod lead;
mod limiter;
mod member;
#[cfg(all(test, feature = "local"))]
mod notifier_tests;
pub(crate) mod policy;

mod recipient;
mod settle;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tracing::Instrument;

use crate::clock::{Clock, SystemClock};
use crate::connector::{Channel, ConnectorError};
use crate::ids::ConversationKey;
use crate::notification::{reference_key, Notification, Operation, Target};
use crate::queue::{Queue, QueueError, ReceivedMessage};
use crate::rate::RateLimits;
use crate::service_url::ServiceUrl;
use crate::store::{DeliveryClaim, DeliveryRecord, DeliveryStatus, Store, StoreError};
pub use hooks::{BeforeSend, DeliveryHook};
pub use limiter::{Agreement, Limiter};
use policy::Verdict;
pub use settle::{settle, Answer, Trigger, FRESH_AFTER_RECEIVES};

/// What to do with a queue message after processing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it.
    Done,
    /// Keep it; make it visible again after this long. A wait for a
    /// rate-limit slot is a whole number of the queue's
    /// [`crate::queue::QueueLimits::delay_resolution`] steps, so the queue shows the message
    /// again in time for it.
    RetryAfter(Duration),
    /// Move it to the dead-letter queue, with this reason: it failed as
    /// many times as it may.
    DeadLetter(String),
}

/// Why a delivery stopped before it reached an outcome: the message is
/// retried later ([`Notifier::process`] turns this into a backoff).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Tunables of the notifier.
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// Attempts at one delivery before it is recorded as failed.
    pub max_attempts: u32,
    /// How long one attempt may hold a delivery's claim.
    pub lease: Duration,
    /// Conversations per fan-out page.
    pub fanout_page: usize,
    /// Sends per conversation and per bot ([`crate::rate`]).
    pub rate_limits: RateLimits,
    /// The first retry's longest backoff (`policy::backoff`).
    pub backoff_base: Duration,
    /// How long a delivery record is kept after its last update.
    pub retention: Duration,
    /// How a Teams tenant nudge has no conversation in is reached
    /// ([`crate::reach`]).
    pub teams: crate::reach::TeamsSettings,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            max_attempts: 8,
            lease: crate::connector::CALL_TIMEOUT * 3,
            fanout_page: 100,
            rate_limits: RateLimits::default(),
            backoff_base: policy::BACKOFF_BASE,
            retention: Duration::from_secs(30 * 24 * 3600),
            teams: crate::reach::TeamsSettings::default(),
        }
    }
}

/// Delivers notifications from the queue through the Bot Connector: one
/// per queue message, exactly once in effect, at the channel's rate limits.
pub struct Notifier {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    channel: Arc<dyn Channel>,
    settings: NotifierSettings,
    /// Takes each send's rate-limit slot.
    limiter: Limiter,
    /// Where "now" comes from for what the notifier records (slots and
    /// waits keep to real time: `crate::clock`).
    clock: Arc<dyn Clock>,
    /// What delivering also does (`hooks`), in the order added.
    hooks: Vec<Arc<dyn DeliveryHook>>,
}

impl Notifier {
    /// A notifier on these adapters and this channel, with the system clock
    /// and no hooks ([`Notifier::with_hook`]; `assemble::Assembly` adds nudge's).
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        channel: Arc<dyn Channel>,
        settings: NotifierSettings,
    ) -> Self {
        let limiter = Limiter::new(store.clone(), settings.rate_limits.clone());
        Notifier {
            limiter,
            store,
            queue,
            channel,
            settings,
            clock: Arc::new(SystemClock),
            hooks: Vec::new(),
        }
    }

    /// Adds a hook that every delivery runs ([`DeliveryHook`]), after the
    /// ones added before it.
    pub fn with_hook(mut self, hook: Arc<dyn DeliveryHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Sets where "now" comes from (the system's clock unless set).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Processes one queue message. Never fails: a message that cannot be
    /// read is dropped with an error in the log (retrying cannot fix it), and
    /// a storage or queue failure leaves it for a later attempt.
    pub async fn process(&self, message: &ReceivedMessage) -> Disposition {
        let span = tracing::info_span!(
            "message",
            message_id = %message.message_id,
            attempt = message.receive_count,
        );
        self.process_message(message).instrument(span).await
    }

    async fn process_message(&self, message: &ReceivedMessage) -> Disposition {
        let notification = match Notification::from_queue_body(&message.body) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(message_id = %message.message_id, error = %crate::telemetry::untrusted(&e), "unreadable notification dropped");
                return Disposition::Done;
            }
        };
        match self.deliver(&notification).await {
            Ok(disposition) => disposition,
            Err(e) => {
                let wait = policy::backoff(self.settings.backoff_base, message.receive_count);
                tracing::warn!(notification = %notification.id, error = %e, ?wait, "delivery interrupted; will retry");
                Disposition::RetryAfter(wait)
            }
        }
    }

    /// Delivers one notification, or expands one fan-out page.
    #[tracing::instrument(skip_all, fields(notification = %notification.id))]
    pub async fn deliver(&self, notification: &Notification) -> Result<Disposition, DeliveryError> {
        let now = self.clock.now();
        if let Some(wait) = time_until(notification.not_before, now) {
            return Ok(Disposition::RetryAfter(wait));
        }
        match &notification.target {
            Target::Conversation { key } => self.send_one(notification, key, now).await,
            Target::Reference { reference } => match reference_key(reference) {
                Ok(key) => self.send_one(notification, &key, now).await,
                Err(error) => {
                    tracing::error!(%error, "reference without a conversation dropped");
                    Ok(Disposition::Done)
                }
            },
            Target::Member {
                tenant_id,
                member_id,
            } => {
                self.send_to_member(notification, tenant_id, member_id, now)
                    .await
            }
            Target::Subscribers { .. }
            | Target::User { .. }
            | Target::Members { .. }
            | Target::Delivered { .. } => self.expand(notification).await,
        }
    }

    /// Claims the notification's delivery for this attempt (for `key`, when
    /// the conversation is known yet): `Err` is what to do with the message
    /// instead (a duplicate of a finished delivery, or another attempt's
    /// live claim).
    async fn claim(
        &self,
        notification: &Notification,
        key: Option<&ConversationKey>,
        now: Timestamp,
    ) -> Result<Result<DeliveryRecord, Disposition>, DeliveryError> {
        let lease_until = later(now, self.settings.lease);
        Ok(
            match self
                .store
                .begin_delivery(&notification.id, key, now, lease_until)
                .await?
            {
                DeliveryClaim::Proceed(record) => Ok(record),
                DeliveryClaim::Finished(record) => {
                    tracing::info!(status = %record.status, "already delivered; duplicate dropped");
                    Err(Disposition::Done)
                }
                DeliveryClaim::Busy(record) => {
                    let wait =
                        time_until(record.lease_until, now).unwrap_or(Duration::from_secs(1));
                    Err(Disposition::RetryAfter(wait))
                }
            },
        )
    }

    async fn send_one(
        &self,
        notification: &Notification,
        key: &ConversationKey,
        now: Timestamp,
    ) -> Result<Disposition, DeliveryError> {
        let began = std::time::Instant::now();
        let mut record = match self.claim(notification, Some(key), now).await? {
            Ok(record) => record,
            Err(disposition) => return Ok(disposition),
        };
        let Some(stored) = self.recipient(notification, key).await? else {
            return self
                .finish(
                    notification,
                    &mut record,
                    DeliveryStatus::Failed,
                    "conversation not found",
                )
                .await;
        };
        if !stored.active {
            let why = format!(
                "conversation inactive: {}",
                stored
                    .inactive_reason
                    .as_deref()
                    .unwrap_or("unknown reason")
            );
            return self
                .finish(notification, &mut record, DeliveryStatus::Blocked, &why)
                .await;
        }
        for hook in &self.hooks {
            if let BeforeSend::Refuse(why) = hook.before_send(notification, now).await? {
                return self
                    .finish(notification, &mut record, DeliveryStatus::Failed, &why)
                    .await;
            }
        }
        let service_url: ServiceUrl = match stored.reference.service_url.as_deref().map(str::parse)
        {
            Some(Ok(url)) => url,
            _ => {
                return self
                    .finish(
                        notification,
                        &mut record,
                        DeliveryStatus::Failed,
                        "stored reference has no valid serviceUrl",
                    )
                    .await
            }
        };
        self.limiter
            .ready(self.channel.as_ref(), &service_url, stored.provenance)
            .await;
        if let Some(wait) = self
            .slot(&mut record, Some(key), stored.tenant_id(), began)
            .await?
        {
            tracing::debug!(conversation = %key, ?wait, "rate limited; back on the queue");
            self.release(&mut record).await?;
            return Ok(Disposition::RetryAfter(wait));
        }
        let mut activity = notification
            .activity
            .clone()
            .addressed_to(&stored.reference);
        let (url, provenance, conversation) =
            (&service_url, stored.provenance, key.conversation_id());
        // A reply handed over from a turn (`api::replies`) still goes to
        // the activity's reply route.
        let sent = match &notification.operation {
            Operation::Send => {
                self.channel
                    .send_activity(url, provenance, conversation, &activity)
                    .await
            }
            Operation::Update { activity_id } => {
                activity.id = Some(activity_id.clone());
                self.channel
                    .update_activity(url, provenance, conversation, activity_id, &activity)
                    .await
            }
            Operation::Delete { activity_id } => {
                self.channel
                    .delete_activity(url, provenance, conversation, activity_id)
                    .await
            }
        };
        match sent {
            Ok(accepted) => {
                record.status_codes.push(accepted.status);
                record.activity_id = match &notification.operation {
                    Operation::Send => accepted.id,
                    Operation::Update { activity_id } | Operation::Delete { activity_id } => {
                        Some(activity_id.clone())
                    }
                };
                tracing::info!(conversation = %key, attempts = record.attempts, operation = ?notification.operation, "delivered");
                self.finish(notification, &mut record, DeliveryStatus::Sent, "")
                    .await
            }
            // The message to change is gone (deleted in Teams, or by an
            // earlier recall): nothing to retry, and the conversation is
            // still there.
            Err(error)
                if !notification.operation.is_send()
                    && error.code() == Some(ACTIVITY_NOT_FOUND) =>
            {
                if let Some(status) = error.status() {
                    record.status_codes.push(status);
                }
                self.finish(
                    notification,
                    &mut record,
                    DeliveryStatus::Failed,
                    &error.to_string(),
                )
                .await
            }
            Err(error) => {
                self.failed(notification, &mut record, Some(key), &error)
                    .await
            }
        }
    }

    /// An attempt that failed with `error`: retried, dead-lettered or
    /// finished as the policy says; a blocked or gone `key` (if the
    /// attempt had a conversation) is deactivated.
    async fn failed(
        &self,
        notification: &Notification,
        record: &mut DeliveryRecord,
        key: Option<&ConversationKey>,
        error: &ConnectorError,
    ) -> Result<Disposition, DeliveryError> {
        if let Some(status) = error.status() {
            record.status_codes.push(status);
        }
        match policy::classify(error) {
            Verdict::Retry(wait) if record.attempts < self.settings.max_attempts => {
                let wait = wait.unwrap_or_else(|| {
                    policy::backoff(self.settings.backoff_base, record.attempts)
                });
                tracing::warn!(conversation = ?key, error = %crate::telemetry::untrusted(&error), attempts = record.attempts, ?wait, "send failed; will retry");
                record.status = DeliveryStatus::Retrying;
                record.last_error = Some(error.to_string());
                record.lease_until = None;
                record.updated_at = self.clock.now();
                self.store.put_delivery(record).await?;
                Ok(Disposition::RetryAfter(wait))
            }
            Verdict::Retry(_) => {
                let why = format!("gave up after {} attempts: {error}", record.attempts);
                record.dead_lettered = true;
                self.finish(notification, record, DeliveryStatus::Failed, &why)
                    .await?;
                Ok(Disposition::DeadLetter(why))
            }
            Verdict::Blocked(code) => {
                if let Some(key) = key {
                    self.store.deactivate_reference(key, &code).await?;
                }
                self.finish(
                    notification,
                    record,
                    DeliveryStatus::Blocked,
                    &error.to_string(),
                )
                .await
            }
            Verdict::Gone(code) => {
                if let Some(key) = key {
                    self.store.deactivate_reference(key, &code).await?;
                }
                self.finish(
                    notification,
                    record,
                    DeliveryStatus::Failed,
                    &error.to_string(),
                )
                .await
            }
            Verdict::Fail(why) => {
                self.finish(notification, record, DeliveryStatus::Failed, &why)
                    .await
            }
        }
    }

    /// Records a final outcome; the message is done with.
    async fn finish(
        &self,
        notification: &Notification,
        record: &mut DeliveryRecord,
        status: DeliveryStatus,
        why: &str,
    ) -> Result<Disposition, DeliveryError> {
        if status != DeliveryStatus::Sent {
            tracing::warn!(%status, reason = %crate::telemetry::untrusted(&why), "notification not delivered");
            record.last_error = Some(why.to_owned());
        }
        record.status = status;
        record.lease_until = None;
        record.updated_at = self.clock.now();
        self.store.put_delivery(record).await?;
        for hook in &self.hooks {
            if let Err(error) = hook.after_outcome(notification, record).await {
                tracing::warn!(%error, "a delivery hook failed after the outcome");
            }
        }
        Ok(Disposition::Done)
    }
}

/// Teams' code for an update or delete of an activity it does not hold in
/// the conversation.
const ACTIVITY_NOT_FOUND: &str = "ActivityNotFoundInConversation";

/// `by` after `now` (`now` if that is beyond time).
pub(crate) fn later(now: Timestamp, by: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(by)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(now)
}

/// How long from `now` until `at`, if `at` is in the future.
fn time_until(at: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    let wait = Duration::try_from(at?.duration_since(now)).ok()?;
    (!wait.is_zero()).then_some(wait)
}
