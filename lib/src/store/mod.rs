//! The `Store` port: everything nudge remembers.
//!
//! Conversation references, subscriptions, jobs, reminders, delivery
//! records, the webhook API's records and rate-limit states live behind
//! one trait per part ([`ReferenceStore`], [`SubscriptionStore`],
//! [`JobStore`], [`ReminderStore`], [`DeliveryStore`], [`WebhookStore`],
//! [`RateLimitStore`], [`RetentionStore`], [`DirectoryStore`]), so that the bot, the notifier and the reminder never
//! see a database, and a new host's adapter can be built and checked one
//! part at a time. [`Store`] is their sum, implemented for anything that
//! implements every part; `use nudge::store::prelude::*` brings the parts'
//! methods into scope. Adapters: [`sqlite`] (the embedded local host) and,
//! on AWS, `dynamodb` (feature `aws`). Every operation where two writers
//! can race is a single conditional write in the adapter
//! ([`JobStore::transition_job`], [`DeliveryStore::begin_delivery`],
//! [`JobStore::insert_job`]): callers never read-modify-write.

mod api_records;
#[cfg(feature = "azure")]
pub mod azure_table;
mod directory;
#[cfg(feature = "aws")]
pub mod dynamodb;
mod records;
mod retention;
#[cfg(feature = "local")]
pub mod sqlite;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::rate::{Ask, Limited, Rule};
pub use api_records::{
    AcceptedNotification, DeliveryCounts, IdempotencyClaim, IdempotencyRecord, StoredResponse,
};
pub use directory::{DirectoryEntry, DirectoryKey, MemberRecord, TenantRecord};
pub use records::{
    DeliveryClaim, DeliveryRecord, DeliveryStatus, Holder, Job, JobStatus, Page, Reminder,
    ReminderStatus, StoredReference, IN_DOUBT,
};
pub use retention::{Cutoffs, Purged, ACCEPTED_RETENTION};

/// The parts of [`Store`], to bring their methods into scope.
pub mod prelude {
    pub use super::{
        DeliveryStore, DirectoryStore, JobStore, RateLimitStore, ReferenceStore, ReminderStore,
        RetentionStore, Store, SubscriptionStore, WebhookStore,
    };
}

/// A storage failure. Domain outcomes (not found, wrong state) are not
/// errors of the store; they have their own types.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An insert found the record already there.
    #[error("the record already exists")]
    Conflict,
    /// A stored record could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend refused or could not be reached.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// Why a job could not move to the requested status.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No job has that id.
    #[error("no such job")]
    NotFound,
    /// The job is not in a status the transition starts from (as it is).
    #[error("job is {} already", .0.status)]
    WrongState(Job),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Conversation references: what the bot may later speak to, and who it
/// has heard from.
#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// Inserts or refreshes a conversation reference. A refresh replaces the
    /// reference, `last_seen`, `active` and `inactive_reason`; it keeps
    /// the conversation's subscriptions.
    async fn save_reference(&self, reference: &StoredReference) -> Result<(), StoreError>;

    /// The stored reference of a conversation, if any.
    async fn get_reference(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredReference>, StoreError>;

    /// Marks a conversation inactive (blocked, uninstalled, gone): no more
    /// proactive sends until it writes again. A no-op for an unknown key.
    async fn deactivate_reference(
        &self,
        key: &ConversationKey,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// References in key order, `limit` at a time, after `after`.
    async fn list_references(
        &self,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<StoredReference>, StoreError>;

    /// The active conversations whose reference names this user of this
    /// channel, in key order, `limit` at a time, after `after`. Adapters
    /// answer from an index on (channel, user): the cost grows with the
    /// user's conversations, never with the number stored.
    async fn user_conversations(
        &self,
        channel_id: &str,
        user_id: &str,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError>;
}

/// Subscriptions of conversations to tags, and their counts.
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Subscribes a conversation to broadcasts (`tag` `None`: the general
    /// list). Returns whether it was newly subscribed.
    async fn subscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Removes a subscription (`tag` `None`: every subscription of the
    /// conversation). Returns whether anything was removed.
    async fn unsubscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Subscribed conversations in key order, `limit` at a time, after
    /// `after`; with `tag`, only those subscribed to it, else every
    /// conversation with any subscription.
    async fn subscribers(
        &self,
        tag: Option<&str>,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError>;

    /// How many active conversations are subscribed to `tag` (all
    /// subscribers: `None`).
    async fn count_subscribers(&self, tag: Option<&str>) -> Result<u64, StoreError>;

    /// How many subscriptions (the general list and tags) one conversation
    /// holds.
    async fn count_subscriptions(&self, key: &ConversationKey) -> Result<u64, StoreError>;
}

/// Jobs: long work a conversation started and is told about when done.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new job; [`StoreError::Conflict`] if the id is taken.
    async fn insert_job(&self, job: &Job) -> Result<(), StoreError>;

    /// A job by id.
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError>;

    /// The jobs of job log `log` ([`Job::log`]), the most recent first, at
    /// most `limit`.
    async fn list_jobs(&self, log: &str, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// How many of the holder's jobs are not complete, counting no further
    /// than `limit`. Adapters answer from an index of unfinished jobs.
    async fn count_running_jobs(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Moves a job to `to` if its status is one of `from`, atomically. On
    /// `Complete`, sets `completed_at` to `at`.
    async fn transition_job(
        &self,
        id: &JobId,
        from: &[JobStatus],
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job, TransitionError>;
}

/// Reminders, and the due index the reminder tick reads.
#[async_trait]
pub trait ReminderStore: Send + Sync {
    /// Stores a new reminder; [`StoreError::Conflict`] if the id is taken.
    async fn insert_reminder(&self, reminder: &Reminder) -> Result<(), StoreError>;

    /// A reminder by id.
    async fn get_reminder(&self, id: &ReminderId) -> Result<Option<Reminder>, StoreError>;

    /// One conversation's pending reminders, soonest first, at most `limit`.
    async fn list_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError>;

    /// How many of the holder's reminders are pending, counting no further
    /// than `limit`.
    async fn count_pending_reminders(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// One conversation's parked reminders, at most `limit`.
    async fn parked_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError>;

    /// Replaces a reminder with `updated` only if it is still `Parked`,
    /// atomically; returns whether it was replaced.
    async fn resume_reminder(&self, updated: &Reminder) -> Result<bool, StoreError>;

    /// Pending reminders due at or before `now`, soonest first, at most
    /// `limit`. Adapters answer from an index on the due time: the cost
    /// grows with the number of due reminders, never with the number stored.
    async fn due_reminders(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError>;

    /// Replaces a reminder with `updated` (its next occurrence, or `Done` /
    /// `Cancelled`) only if it is still `Pending` and due at
    /// `expected_due`, atomically. Returns whether it was replaced: `false`
    /// means another tick or a cancel got there first.
    async fn advance_reminder(
        &self,
        expected_due: Timestamp,
        updated: &Reminder,
    ) -> Result<bool, StoreError>;
}

/// Delivery records: one per notification and conversation, claimed
/// before each send.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Claims the delivery of a notification for one attempt, atomically:
    /// creates the record on the first attempt; refuses when the delivery
    /// has finished or another worker's lease on it has not run out.
    /// `lease_until` bounds how long this attempt may hold it.
    async fn begin_delivery(
        &self,
        id: &NotificationId,
        conversation: Option<&ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<DeliveryClaim, StoreError>;

    /// Writes the outcome of an attempt (the record from `begin_delivery`,
    /// updated by the caller).
    async fn put_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError>;

    /// The delivery record of a notification, if it has one.
    async fn get_delivery(&self, id: &NotificationId)
        -> Result<Option<DeliveryRecord>, StoreError>;

    // The webhook API's methods.

    /// The delivery records of `parent`'s children (the ids
    /// [`NotificationId::child`] makes: one per recipient of a fan-out), in
    /// id order, `limit` at a time, after `after`.
    async fn child_deliveries(
        &self,
        parent: &NotificationId,
        after: Option<&NotificationId>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord, NotificationId>, StoreError>;

    /// How many of `parent`'s children's deliveries are in each status.
    async fn count_child_deliveries(
        &self,
        parent: &NotificationId,
    ) -> Result<DeliveryCounts, StoreError>;
}

/// Records past their retention, deleted by the maintenance tick
/// ([`crate::schedule::maintain`]) on a store that has no TTL of its own.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes up to `limit` records of each kind that `cutoffs` says are
    /// past their retention, oldest first; returns how many of each. A
    /// store whose records expire by themselves (DynamoDB's TTL) deletes
    /// nothing here.
    async fn purge_expired(&self, cutoffs: &Cutoffs, limit: usize) -> Result<Purged, StoreError>;
}

/// What the webhook API remembers: idempotency keys, signatures seen,
/// accepted notifications.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Claims an idempotency key for the call `record` describes,
    /// atomically, by the rule of [`IdempotencyClaim::decide`]: stores
    /// `record` when the key is free, else answers with what holds it.
    async fn claim_idempotency_key(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError>;

    /// Writes an idempotency record whole: the claimed one with its answer,
    /// or released (no answer, no lease).
    async fn put_idempotency_record(&self, record: &IdempotencyRecord) -> Result<(), StoreError>;

    /// Remembers the digest of a signed webhook request the gate accepted,
    /// and the `Idempotency-Key` it came with (empty: none), until
    /// `expires_at`, with a conditional insert. Returns `None` the first
    /// time, and the key it was first remembered with when it was already
    /// there (the request is a copy). Digests that expired before `now`
    /// may be dropped.
    async fn remember_signature(
        &self,
        digest: &str,
        idempotency_key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError>;

    /// Remembers a notification the webhook API accepted (replacing any
    /// record of the same id).
    async fn save_accepted(&self, accepted: &AcceptedNotification) -> Result<(), StoreError>;

    /// The accepted notification of a webhook request, by id.
    async fn get_accepted(
        &self,
        id: &NotificationId,
    ) -> Result<Option<AcceptedNotification>, StoreError>;

    // The notifier's rate limits.
}

/// The notifier's rate-limit states.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Takes a send slot from `limited`'s rate limit for `ask`, no earlier
    /// than `ask.earliest` nor than the moment the adapter decides,
    /// atomically, by the rule of
    /// [`crate::rate::RateState::take`] (giving back
    /// `ask.replacing` in the same write), and returns its time; `None`
    /// when the slot would lie after `ask.by` (nothing taken). The state
    /// expires once no window can see it.
    async fn reserve_send(
        &self,
        limited: &Limited,
        rule: &Rule,
        ask: &Ask,
    ) -> Result<Option<Timestamp>, StoreError>;
}

/// What nudge has learned of Teams tenants and users ([`DirectoryEntry`]):
/// plain entries, each read and written whole by its exact key.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Writes entries, each replacing the one under the same key. A turn
    /// notes up to three at once, so they go in one call: one transaction
    /// where the adapter has them (SQLite), concurrent single writes where
    /// it does not (each entry stands alone, so a partial write is only an
    /// entry learned later).
    async fn put_directory_entries(&self, entries: &[DirectoryEntry]) -> Result<(), StoreError>;

    /// The entry under `key`, if any.
    async fn get_directory_entry(
        &self,
        key: &DirectoryKey,
    ) -> Result<Option<DirectoryEntry>, StoreError>;
}

/// [`Store`] and its blanket impl, from one list of the parts.
macro_rules! sum_of_parts {
    ($first:ident $(+ $part:ident)*) => {
        /// Everything nudge remembers: the sum of the parts, which a host's
        /// adapter implements one by one. Code that needs only a part asks
        /// for that part.
        pub trait Store: $first $(+ $part)* {}

        impl<T> Store for T where T: $first $(+ $part)* {}
    };
}

sum_of_parts!(
    ReferenceStore
        + SubscriptionStore
        + JobStore
        + ReminderStore
        + DeliveryStore
        + WebhookStore
        + RateLimitStore
        + RetentionStore
        + DirectoryStore
);
