//! The Azure Table Storage store, for the Azure Functions host.
//!
//! Every part of the store, on the REST foundation: [`keys`] (any text as
//! a legal key), [`rest`] (entities with ETag-conditional writes, queries
//! with continuation, signed by [`crate::azure_storage::Credential`]) and
//! [`batch`] (entity group transactions). It passes the whole store suite,
//! the race checks and the retention checks on Azurite
//! (`tests/tests/azure_adapters.rs`).
//!
//! The data model (each part's module says more): DynamoDB's single-table
//! layout, adapted to a service with no secondary indexes and transactions
//! only within one partition:
//! - records live in partitions of their own (`job:{id}`, `dlv:{id}`,
//!   `idem:{key}`, …); a fan-out's children live in their parent's sharded
//!   partitions beside a counter per shard, changed in one transaction;
//! - a conversation's reference and its list of subscriptions share
//!   partition `conv:{key}`; each audience (a tag's subscribers, everyone
//!   subscribed) is sharded, one entity per conversation beside a counter
//!   per shard, brought to the list's version (`subscriptions`);
//! - every other listing or index (all references, a user's
//!   conversations, a job log, unfinished jobs by holder, due reminders, a
//!   reminder owner's list) is a set of index entities in partitions of
//!   their own (`index`); an index entity is written before the record
//!   it points to and removed after it, and a reader keeps only entries
//!   whose record agrees, so a crash between the two leaves an entry
//!   readers skip (the tick removes stale due entries as it meets them),
//!   never a record a listing misses;
//! - due reminders are one range of the due index, up to now: O(due)
//!   (`reminders` says why one partition rather than minute buckets);
//! - counters and rate-limit state are one entity each, changed with
//!   `If-Match` on the ETag read (optimistic concurrency), counters
//!   sharded where many writers meet;
//! - the Teams directory (`dir:{key}`) is one entity per entry, kept;
//! - retention is the shared maintenance tick's (Table Storage has no
//!   TTL), read from an expiry index per kind (`retention`).

pub mod batch;
mod deliveries;
mod directory;
mod index;
mod jobs;
pub mod keys;
mod rate_limits;
mod record;
mod references;
mod reminders;
pub mod rest;
mod retention;
mod subscriptions;
mod webhook_api;

use async_trait::async_trait;
use jiff::Timestamp;

use self::rest::TableClient;
use super::{
    AcceptedNotification, Cutoffs, DeliveryClaim, DeliveryCounts, DeliveryRecord, DeliveryStore,
    DirectoryEntry, DirectoryKey, DirectoryStore, Holder, IdempotencyClaim, IdempotencyRecord, Job,
    JobStatus, JobStore, Page, Purged, RateLimitStore, ReferenceStore, Reminder, ReminderStore,
    RetentionStore, StoreError, StoredReference, SubscriptionStore, TransitionError, WebhookStore,
};
use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::rate::{Ask, Limited, Rule};

/// The store on one Azure Storage table: every part.
#[derive(Clone, Debug)]
pub struct AzureTableStore {
    table: TableClient,
}

impl AzureTableStore {
    /// A store on `table` (which must exist).
    pub fn new(table: TableClient) -> AzureTableStore {
        AzureTableStore { table }
    }
}

#[async_trait]
impl JobStore for AzureTableStore {
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
        jobs::count_running(&self.table, holder, limit).await
    }

    async fn transition_job(
        &self,
        id: &JobId,
        from: &[JobStatus],
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job, TransitionError> {
        jobs::transition(&self.table, id, from, to, at).await
    }
}

#[async_trait]
impl DeliveryStore for AzureTableStore {
    async fn begin_delivery(
        &self,
        id: &NotificationId,
        conversation: Option<&ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<DeliveryClaim, StoreError> {
        deliveries::begin(&self.table, id, conversation, now, lease_until).await
    }

    async fn put_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        deliveries::put(&self.table, record).await
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
impl WebhookStore for AzureTableStore {
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
impl RateLimitStore for AzureTableStore {
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
impl DirectoryStore for AzureTableStore {
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
impl ReferenceStore for AzureTableStore {
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
impl SubscriptionStore for AzureTableStore {
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
        subscriptions::count_subscribers(&self.table, tag).await
    }

    async fn count_subscriptions(&self, key: &ConversationKey) -> Result<u64, StoreError> {
        subscriptions::count_subscriptions(&self.table, key).await
    }
}

#[async_trait]
impl ReminderStore for AzureTableStore {
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
        reminders::list(&self.table, owner, limit).await
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
impl RetentionStore for AzureTableStore {
    async fn purge_expired(&self, cutoffs: &Cutoffs, limit: usize) -> Result<Purged, StoreError> {
        retention::purge(&self.table, cutoffs, limit).await
    }
}
