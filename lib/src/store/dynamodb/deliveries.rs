//! Delivery records: one item each (`DELIVERY#{notificationId}`), the
//! notifier's idempotency record. A fan-out child's record is also listed
//! under its parent (`listing`: `KIDS#{parent}#{shard}` → id), which is
//! how a broadcast's progress is read.
//!
//! Claims follow [`DeliveryClaim::decide`], applied to a consistent read and
//! written back only if the record is still as read; a claim that loses a
//! race decides again on what the winner wrote. Records expire through the
//! table's TTL, a retention after their last update ([`RETENTION`] unless
//! the store is configured otherwise, `NUDGE_DELIVERY_RETENTION_DAYS`).
//!
//! A fan-out's progress is counted, not read: every write of a child's
//! record (its creation by a claim, each change of status) moves it from
//! its old status to its new one on the parent's
//! [`counter`](super::counters) (`COUNT#KIDS#{parent}#{shard}`, one number
//! per status), in the same transaction as the record, which is written
//! only if it is still as read. So `count_child_deliveries` reads
//! [`SHARDS`](super::keys::SHARDS) counter items, however large the
//! fan-out. The counter's shards take each write's expiry too, so they
//! expire with the last records written to them.

use jiff::{SignedDuration, Timestamp};

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{decode, encode, string, text};
use super::counters::Counter;
use super::keys::{
    children_count_partition, children_partition, delivery_pk, sharded, shards, BODY, COUNTER_SK,
    DELIVERY_SK, EXPIRES_AT, LISTING, STATUS,
};
use super::listing::Sharded;
use super::table::{number, Change, Expect, Item, Range, Table};
use super::transaction::Outcome;
use crate::ids::{ConversationKey, NotificationId};
use crate::store::{
    DeliveryClaim, DeliveryCounts, DeliveryRecord, DeliveryStatus, Page, StoreError,
};

/// How long a delivery record outlives its last update: longer than a
/// message can live on a queue and then on its dead-letter queue (14 days
/// each at most on SQS), so even a redriven message finds its record.
pub const RETENTION: SignedDuration = SignedDuration::from_hours(30 * 24);

pub async fn begin(
    table: &Table,
    retention: SignedDuration,
    id: &NotificationId,
    conversation: Option<&ConversationKey>,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<DeliveryClaim, StoreError> {
    let pk = &delivery_pk(id);
    table
        .racing(pk, || async move {
            let item = table.get(pk.clone(), DELIVERY_SK).await?;
            let existing: Option<DeliveryRecord> = item.as_ref().map(decode).transpose()?;
            let before = existing.as_ref().map(|record| record.status);
            let claim =
                DeliveryClaim::decide(existing, id, conversation.cloned(), now, lease_until);
            let DeliveryClaim::Proceed(record) = &claim else {
                return Ok(Some(claim));
            };
            let expect = Expect::unchanged(item.as_ref())?;
            let written = write(table, retention, record, before, &expect).await?;
            Ok(written.then_some(claim))
        })
        .await
}

/// Replaces the record (whatever it was); a child's moves on its parent's
/// counter from the status it had, so it is written only if it is still
/// as read, and read again if not.
pub async fn put(
    table: &Table,
    retention: SignedDuration,
    record: &DeliveryRecord,
) -> Result<(), StoreError> {
    let pk = &delivery_pk(&record.notification_id);
    if record.notification_id.parent().is_none() {
        // Counted nowhere: the record is all there is to write.
        let (change, _) = delivery_change(record, retention)?;
        table
            .write(pk.clone(), DELIVERY_SK, &change, &Expect::Anything)
            .await?;
        return Ok(());
    }
    table
        .racing(pk, || async move {
            let item = table.get(pk.clone(), DELIVERY_SK).await?;
            let before = item.as_ref().map(status_of).transpose()?;
            let expect = Expect::unchanged(item.as_ref())?;
            let written = write(table, retention, record, before, &expect).await?;
            Ok(written.then_some(()))
        })
        .await
}

/// Writes `record` if its item is as `expect`ed, and, for a fan-out's
/// child, moves it from `before` (`None`: it is new) to its status on the
/// parent's counter, all in one transaction. Returns `false`, writing
/// nothing, when the record had changed or another writer held the counter.
async fn write(
    table: &Table,
    retention: SignedDuration,
    record: &DeliveryRecord,
    before: Option<DeliveryStatus>,
    expect: &Expect,
) -> Result<bool, StoreError> {
    let id = record.notification_id.as_str();
    let pk = delivery_pk(&record.notification_id);
    let (change, expires) = delivery_change(record, retention)?;
    let Some(parent) = record.notification_id.parent() else {
        return table.write(pk, DELIVERY_SK, &change, expect).await;
    };
    let mut tally = Change::default().set(EXPIRES_AT, expires);
    if before != Some(record.status) {
        if let Some(before) = before {
            tally = tally.add(before.as_str(), -1);
        }
        tally = tally.add(record.status.as_str(), 1);
    }
    let counter = Counter::new(children_count_partition(&parent)).shard_of(id);
    let mut transaction = table.transaction();
    transaction.write(pk, DELIVERY_SK, &change, expect);
    transaction.write(counter, COUNTER_SK, &tally, &Expect::Anything);
    Ok(transaction.commit().await? == Outcome::Committed)
}

pub async fn get(table: &Table, id: &NotificationId) -> Result<Option<DeliveryRecord>, StoreError> {
    let item = table.get(delivery_pk(id), DELIVERY_SK).await?;
    item.as_ref().map(decode).transpose()
}

/// A fan-out's child deliveries, in id order, from the [`LISTING`]
/// partitions `KIDS#{parent}#{shard}`.
pub async fn children(
    table: &Table,
    parent: &NotificationId,
    after: Option<&NotificationId>,
    limit: usize,
) -> Result<Page<DeliveryRecord, NotificationId>, StoreError> {
    let records: Vec<DeliveryRecord> = of_parent(parent, after)
        .records(table, limit.saturating_add(1))
        .await?;
    Ok(Page::from_probe(records, limit, |r| {
        r.notification_id.clone()
    }))
}

/// A fan-out's child deliveries by status, from the parent's counter: one
/// read, however many children.
pub async fn count_children(
    table: &Table,
    parent: &NotificationId,
) -> Result<DeliveryCounts, StoreError> {
    let statuses = DeliveryStatus::ALL;
    let totals = Counter::new(children_count_partition(parent))
        .read(table, statuses.map(DeliveryStatus::as_str))
        .await?;
    let mut counts = DeliveryCounts::default();
    for (status, n) in statuses.into_iter().zip(totals) {
        counts.add(status, n);
    }
    Ok(counts)
}

/// The status a stored record is in.
fn status_of(item: &Item) -> Result<DeliveryStatus, StoreError> {
    string(item, STATUS)?.parse().map_err(StoreError::Corrupt)
}

fn of_parent(parent: &NotificationId, after: Option<&NotificationId>) -> Sharded {
    Sharded {
        index: LISTING,
        partitions: shards(&children_partition(parent)).collect(),
        range: after.map_or(Range::All, |id| Range::After(id.to_string())),
        forward: true,
    }
}

/// The whole item, and its expiry; a fan-out child's also carries its
/// parent's [`LISTING`] keys, sharded so a large fan-out never writes one
/// hot index partition.
fn delivery_change(
    record: &DeliveryRecord,
    retention: SignedDuration,
) -> Result<(Change, AttributeValue), StoreError> {
    let expires = record
        .updated_at
        .checked_add(retention)
        .unwrap_or(Timestamp::MAX);
    let id = record.notification_id.as_str();
    let listing = record
        .notification_id
        .parent()
        .map(|parent| sharded(&children_partition(&parent), id));
    let listing_sk = listing.as_ref().map(|_| text(id));
    let expires = number(expires.as_second());
    let change = Change::default()
        .set(BODY, encode(record)?)
        .set(STATUS, text(record.status.to_string()))
        .set(EXPIRES_AT, expires.clone())
        .set_or_remove(LISTING.pk, listing.map(text))
        .set_or_remove(LISTING.sk, listing_sk);
    Ok((change, expires))
}
