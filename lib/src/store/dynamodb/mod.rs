//! The DynamoDB [`Store`](super::Store): every record in one table (single-table design).
//!
//! | record | `pk` | `sk` | indexes (partition → sort key) |
//! | --- | --- | --- | --- |
//! | conversation reference | `CONV#{channelId}#{conversationId}` | `REF` | `listing`: `REFS#{shard}` → key; while active: `user`: `USER#{channelId}#{userId}` → key |
//! | subscription | `CONV#{key}` | `SUB#{tag}` (`SUB#`: the general list) | `listing`: `TAG#{tag}#{shard}` → key; `subscribed`: `SUBS#{shard}` → key, tag |
//! | a conversation's subscription count | `CONV#{key}` | `SUBCOUNT` | — |
//! | subscriber counter (sharded) | `COUNT#TAG#{tag}#{shard}`, `COUNT#SUBSCRIBED#{shard}` | `COUNT` | — |
//! | job | `JOB#{id}` | `JOB` | `listing`: `JOBLOG#{log}#{shard}` → created, id; while unfinished: `subscribed`: `RUNNING#{owner}` → id, `user`: `RUNBY#{user}` → id |
//! | reminder | `REMINDER#{id}` | `REMINDER` | while pending: `due`: `DUE#{shard}` → due, id; `listing`: `OWNER#{key}` → due, id; `user`: `REMINDBY#{user}` → id; while parked: `listing`: `PARKED#{key}` → due, id |
//! | delivery | `DELIVERY#{notificationId}` | `DELIVERY` | a fan-out child's: `listing`: `KIDS#{parent}#{shard}` → id (TTL `expires_at`) |
//! | a fan-out's delivery counter (sharded) | `COUNT#KIDS#{parent}#{shard}` | `COUNT` | — (TTL `expires_at`) |
//! | idempotency key | `IDEMPOTENCY#{key}` | `IDEMPOTENCY` | — (TTL `expires_at`) |
//! | accepted notification | `NOTIFICATION#{id}` | `ACCEPTED` | — (TTL `expires_at`) |
//! | directory entry (a Teams tenant or user) | `DIRECTORY#{encoded key}` | `DIRECTORY` | — |
//! | signed webhook request seen (replay cache) | `SIGNATURE#{digest}` | `SIGNATURE` | — (TTL `expires_at`) |
//! | rate-limit state | `RATE#conversation#{key}`, `RATE#tenant#{tenantId}` (`RATE#tenant#`: no tenant), `RATE#global` | `RATE` | — (TTL `expires_at`) |
//!
//! Why it is laid out so:
//! - **A conversation's data shares its partition**: the reference and its
//!   subscriptions, so saving a reference never touches subscriptions and
//!   unsubscribing from everything reads one partition.
//! - **Listings are sharded.** Items that every listing must see (all
//!   references, a tag's subscribers, all jobs, due reminders) are spread
//!   over [`keys::SHARDS`] index partitions by a hash of their key, so no
//!   partition takes every write; a listing reads all shards and merges
//!   them (`listing`), which keeps the order the [`Store`](super::Store) promises.
//! - **Sparse indexes.** Only pending reminders carry the `due` index keys,
//!   so the tick's query reads due reminders and nothing else: its cost
//!   grows with what is due, never with what is stored. Likewise only
//!   active conversations carry the `user` index keys, so a user target
//!   reads that user's active conversations and nothing else.
//! - **Conditional writes, never read-modify-write races.** Every write
//!   counts a revision; the operations that decide on what they read (job
//!   transitions, delivery claims, deactivation) write only if the revision
//!   is still the one they read, and decide again when it is not. Inserts
//!   require the item to be absent; a reminder advances only while it is
//!   pending at the due time the caller saw.
//! - **Counted, never counted up.** The webhook API's counts (a tag's
//!   subscribers, a fan-out's deliveries by status) are counter items kept
//!   in the same transaction as the writes they count (`counters`), so
//!   answering them reads a fixed number of items, however large the
//!   audience.
//! - **Records are JSON in `body`**, as in the embedded store; the other
//!   attributes are keys and conditions.
//!
//! Key attributes have DynamoDB's size limits (2048 bytes for a partition
//! key, 1024 for a sort key): a conversation id near those sizes is refused
//! by DynamoDB and reported as a backend error. Channel ids are far shorter.

mod caps;
mod codec;
mod counters;
mod deliveries;
mod directory;
mod jobs;
pub mod keys;
mod listing;
mod rate_limits;
mod references;
mod reminders;
mod schema;
mod subscriptions;
mod table;
mod transaction;
mod webhook_api;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use jiff::Timestamp;

pub use deliveries::RETENTION;
pub use schema::create_table;

use super::{
    AcceptedNotification, DeliveryClaim, DeliveryCounts, DeliveryRecord, Holder, IdempotencyClaim,
    IdempotencyRecord, Job, JobStatus, Page, Reminder, StoreError, StoredReference,
    TransitionError,
};
use super::{
    Cutoffs, DeliveryStore, DirectoryEntry, DirectoryKey, DirectoryStore, JobStore, Purged,
    RateLimitStore, ReferenceStore, ReminderStore, RetentionStore, SubscriptionStore, WebhookStore,
};
use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::rate::{Ask, Limited, Rule};
use table::Table;

/// A [`Store`](super::Store) in one DynamoDB table.
#[derive(Clone)]
pub struct DynamoStore {
    table: Table,
    /// How long a delivery record outlives its last update (TTL).
    delivery_retention: jiff::SignedDuration,
}

impl DynamoStore {
    /// A store in the table `table_name`, which must exist with the layout
    /// above ([`create_table`] makes one).
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table_name.into()),
            delivery_retention: RETENTION,
        }
    }

    /// Delivery records expire this long after their last update (through
    /// the table's TTL) instead of [`RETENTION`].
    pub fn with_delivery_retention(mut self, retention: jiff::SignedDuration) -> Self {
        self.delivery_retention = retention;
        self
    }
}

#[async_trait]
impl DirectoryStore for DynamoStore {
    async fn put_directory_entries(&self, entries: &[DirectoryEntry]) -> Result<(), StoreError> {
        futures::future::try_join_all(entries.iter().map(|e| directory::put(&self.table, e)))
            .await
            .map(drop)
    }

    async fn get_directory_entry(
        &self,
        key: &DirectoryKey,
    ) -> Result<Option<DirectoryEntry>, StoreError> {
        directory::get(&self.table, key).await
    }
}

#[async_trait]
impl ReferenceStore for DynamoStore {
    async fn save_reference(&self, reference: &StoredReference) -> Result<(), StoreError> {
        references::save(&self.table, reference).await
    }

    async fn get_reference(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredReference>, StoreError> {
        references::get(&self.table, key).await
    }

    async fn deactivate_reference(
        &self,
        key: &ConversationKey,
        reason: &str,
    ) -> Result<(), StoreError> {
        references::deactivate(&self.table, key, reason).await
    }

    async fn list_references(
        &self,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<StoredReference>, StoreError> {
        references::list(&self.table, after, limit).await
    }

    async fn user_conversations(
        &self,
        channel_id: &str,
        user_id: &str,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        references::of_user(&self.table, channel_id, user_id, after, limit).await
    }
}

#[async_trait]
impl SubscriptionStore for DynamoStore {
    async fn subscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        subscriptions::subscribe(&self.table, key, tag, at).await
    }

    async fn unsubscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
    ) -> Result<bool, StoreError> {
        subscriptions::unsubscribe(&self.table, key, tag).await
    }

    async fn subscribers(
        &self,
        tag: Option<&str>,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        subscriptions::subscribers(&self.table, tag, after, limit).await
    }

    async fn count_subscribers(&self, tag: Option<&str>) -> Result<u64, StoreError> {
        subscriptions::count_of(&self.table, tag).await
    }

    async fn count_subscriptions(&self, key: &ConversationKey) -> Result<u64, StoreError> {
        subscriptions::count_own(&self.table, key).await
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn insert_job(&self, job: &Job) -> Result<(), StoreError> {
        jobs::insert(&self.table, job).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        jobs::get(&self.table, id).await
    }

    async fn list_jobs(&self, log: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
        jobs::list(&self.table, log, limit).await
    }

    async fn count_running_jobs(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let (index, partition) = caps::running_job_entry(holder);
        caps::count_up_to(&self.table, index, partition, limit).await
    }

    async fn transition_job(
        &self,
        id: &JobId,
        from: &[JobStatus],
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job, TransitionError> {
        jobs::transition(&self.table, id, from, to, at, self.delivery_retention).await
    }
}

#[async_trait]
impl ReminderStore for DynamoStore {
    async fn insert_reminder(&self, reminder: &Reminder) -> Result<(), StoreError> {
        reminders::insert(&self.table, reminder).await
    }

    async fn get_reminder(&self, id: &ReminderId) -> Result<Option<Reminder>, StoreError> {
        reminders::get(&self.table, id).await
    }

    async fn list_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        reminders::of_owner(&self.table, owner, limit).await
    }

    async fn count_pending_reminders(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        reminders::count_pending(&self.table, holder, limit).await
    }

    async fn parked_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        reminders::parked(&self.table, owner, limit).await
    }

    async fn resume_reminder(&self, updated: &Reminder) -> Result<bool, StoreError> {
        reminders::resume(&self.table, updated).await
    }

    async fn due_reminders(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        reminders::due(&self.table, now, limit).await
    }

    async fn advance_reminder(
        &self,
        expected_due: Timestamp,
        updated: &Reminder,
    ) -> Result<bool, StoreError> {
        reminders::advance(&self.table, expected_due, updated).await
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn begin_delivery(
        &self,
        id: &NotificationId,
        conversation: Option<&ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<DeliveryClaim, StoreError> {
        deliveries::begin(
            &self.table,
            self.delivery_retention,
            id,
            conversation,
            now,
            lease_until,
        )
        .await
    }

    async fn put_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        deliveries::put(&self.table, self.delivery_retention, record).await
    }

    async fn get_delivery(
        &self,
        id: &NotificationId,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        deliveries::get(&self.table, id).await
    }

    async fn child_deliveries(
        &self,
        parent: &NotificationId,
        after: Option<&NotificationId>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord, NotificationId>, StoreError> {
        deliveries::children(&self.table, parent, after, limit).await
    }

    async fn count_child_deliveries(
        &self,
        parent: &NotificationId,
    ) -> Result<DeliveryCounts, StoreError> {
        deliveries::count_children(&self.table, parent).await
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn claim_idempotency_key(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError> {
        webhook_api::claim(&self.table, record, now).await
    }

    async fn put_idempotency_record(&self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        webhook_api::put(&self.table, record).await
    }

    async fn remember_signature(
        &self,
        digest: &str,
        idempotency_key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        webhook_api::remember_signature(&self.table, digest, idempotency_key, expires_at, now).await
    }

    async fn save_accepted(&self, accepted: &AcceptedNotification) -> Result<(), StoreError> {
        webhook_api::save_accepted(&self.table, accepted).await
    }

    async fn get_accepted(
        &self,
        id: &NotificationId,
    ) -> Result<Option<AcceptedNotification>, StoreError> {
        webhook_api::get_accepted(&self.table, id).await
    }
}

#[async_trait]
impl RateLimitStore for DynamoStore {
    async fn reserve_send(
        &self,
        limited: &Limited,
        rule: &Rule,
        ask: &Ask,
    ) -> Result<Option<Timestamp>, StoreError> {
        rate_limits::reserve(&self.table, limited, rule, ask).await
    }
}

#[async_trait]
impl RetentionStore for DynamoStore {
    /// Nothing to do: the table's TTL removes expired records by itself
    /// (finished jobs get their expiry when they finish).
    async fn purge_expired(&self, _cutoffs: &Cutoffs, _limit: usize) -> Result<Purged, StoreError> {
        Ok(Purged::default())
    }
}
