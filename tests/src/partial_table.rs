//! The Table store while it is being built (issue 14): its finished parts
//! on Azurite, with the embedded store standing in for the parts still to
//! come, so that the suite's checks of the finished parts run on Table
//! Storage now. `azure_adapters.rs` names the checks it runs; this goes
//! when the Table store has every part and runs the whole suite.

use jiff::Timestamp;
use nudge::async_trait;
use nudge::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use nudge::rate::{Ask, Limited, Rule};
use nudge::store::azure_table::AzureTableStore;
use nudge::store::prelude::*;
use nudge::store::sqlite::SqliteStore;
use nudge::store::{
    AcceptedNotification, Cutoffs, DeliveryClaim, DeliveryCounts, DeliveryRecord, Holder,
    IdempotencyClaim, IdempotencyRecord, Job, JobStatus, Page, Purged, Reminder, StoreError,
    StoredReference, TransitionError,
};

/// References, subscriptions, jobs, deliveries, the webhook API's records
/// and rate limits on Table Storage; reminders and retention embedded.
pub struct PartialTable {
    pub table: AzureTableStore,
    pub rest: SqliteStore,
}

#[async_trait]
impl JobStore for PartialTable {
    async fn insert_job(&self, job: &Job) -> Result<(), StoreError> {
        self.table.insert_job(job).await
    }
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        self.table.get_job(id).await
    }
    async fn list_jobs(&self, log: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.table.list_jobs(log, limit).await
    }
    async fn count_running_jobs(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.table.count_running_jobs(holder, limit).await
    }
    async fn transition_job(
        &self,
        id: &JobId,
        from: &[JobStatus],
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job, TransitionError> {
        self.table.transition_job(id, from, to, at).await
    }
}

#[async_trait]
impl DeliveryStore for PartialTable {
    async fn begin_delivery(
        &self,
        id: &NotificationId,
        conversation: Option<&ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<DeliveryClaim, StoreError> {
        self.table
            .begin_delivery(id, conversation, now, lease_until)
            .await
    }
    async fn put_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        self.table.put_delivery(record).await
    }
    async fn get_delivery(
        &self,
        id: &NotificationId,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.table.get_delivery(id).await
    }
    async fn child_deliveries(
        &self,
        parent: &NotificationId,
        after: Option<&NotificationId>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord, NotificationId>, StoreError> {
        self.table.child_deliveries(parent, after, limit).await
    }
    async fn count_child_deliveries(
        &self,
        parent: &NotificationId,
    ) -> Result<DeliveryCounts, StoreError> {
        self.table.count_child_deliveries(parent).await
    }
}

#[async_trait]
impl WebhookStore for PartialTable {
    async fn claim_idempotency_key(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.table.claim_idempotency_key(record, now).await
    }
    async fn put_idempotency_record(&self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.table.put_idempotency_record(record).await
    }
    async fn remember_signature(
        &self,
        digest: &str,
        idempotency_key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.table
            .remember_signature(digest, idempotency_key, expires_at, now)
            .await
    }
    async fn save_accepted(&self, accepted: &AcceptedNotification) -> Result<(), StoreError> {
        self.table.save_accepted(accepted).await
    }
    async fn get_accepted(
        &self,
        id: &NotificationId,
    ) -> Result<Option<AcceptedNotification>, StoreError> {
        self.table.get_accepted(id).await
    }
}

#[async_trait]
impl RateLimitStore for PartialTable {
    async fn reserve_send(
        &self,
        limited: &Limited,
        rule: &Rule,
        ask: &Ask,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.table.reserve_send(limited, rule, ask).await
    }
}

#[async_trait]
impl ReferenceStore for PartialTable {
    async fn save_reference(&self, reference: &StoredReference) -> Result<(), StoreError> {
        self.table.save_reference(reference).await
    }
    async fn get_reference(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredReference>, StoreError> {
        self.table.get_reference(key).await
    }
    async fn deactivate_reference(
        &self,
        key: &ConversationKey,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.table.deactivate_reference(key, reason).await
    }
    async fn list_references(
        &self,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<StoredReference>, StoreError> {
        self.table.list_references(after, limit).await
    }
    async fn user_conversations(
        &self,
        channel_id: &str,
        user_id: &str,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        self.table
            .user_conversations(channel_id, user_id, after, limit)
            .await
    }
}

#[async_trait]
impl SubscriptionStore for PartialTable {
    async fn subscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.table.subscribe(key, tag, at).await
    }
    async fn unsubscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.table.unsubscribe(key, tag).await
    }
    async fn subscribers(
        &self,
        tag: Option<&str>,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        self.table.subscribers(tag, after, limit).await
    }
    async fn count_subscribers(&self, tag: Option<&str>) -> Result<u64, StoreError> {
        self.table.count_subscribers(tag).await
    }
    async fn count_subscriptions(&self, key: &ConversationKey) -> Result<u64, StoreError> {
        self.table.count_subscriptions(key).await
    }
}

// The parts still to come: the embedded store's.

#[async_trait]
impl ReminderStore for PartialTable {
    async fn insert_reminder(&self, reminder: &Reminder) -> Result<(), StoreError> {
        self.rest.insert_reminder(reminder).await
    }
    async fn get_reminder(&self, id: &ReminderId) -> Result<Option<Reminder>, StoreError> {
        self.rest.get_reminder(id).await
    }
    async fn list_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        self.rest.list_reminders(owner, limit).await
    }
    async fn count_pending_reminders(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.rest.count_pending_reminders(holder, limit).await
    }
    async fn parked_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        self.rest.parked_reminders(owner, limit).await
    }
    async fn resume_reminder(&self, updated: &Reminder) -> Result<bool, StoreError> {
        self.rest.resume_reminder(updated).await
    }
    async fn due_reminders(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        self.rest.due_reminders(now, limit).await
    }
    async fn advance_reminder(
        &self,
        expected_due: Timestamp,
        updated: &Reminder,
    ) -> Result<bool, StoreError> {
        self.rest.advance_reminder(expected_due, updated).await
    }
}

#[async_trait]
impl RetentionStore for PartialTable {
    async fn purge_expired(&self, cutoffs: &Cutoffs, limit: usize) -> Result<Purged, StoreError> {
        self.rest.purge_expired(cutoffs, limit).await
    }
}
