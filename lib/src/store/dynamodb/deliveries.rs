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

use jiff::{SignedDuration, Timestamp};

use super::codec::{decode, encode, string, text};
use super::keys::{
    children_partition, delivery_pk, sharded, shards, BODY, DELIVERY_SK, EXPIRES_AT, LISTING,
    STATUS,
};
use super::listing::Sharded;
use super::table::{number, Change, Expect, Query, Range, Table};
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
    table
        .read_modify_write(&delivery_pk(id), DELIVERY_SK, |item| {
            let existing = item.map(decode).transpose()?;
            let claim =
                DeliveryClaim::decide(existing, id, conversation.cloned(), now, lease_until);
            let change = match &claim {
                DeliveryClaim::Proceed(record) => Some(delivery_change(record, retention)?),
                DeliveryClaim::Finished(_) | DeliveryClaim::Busy(_) => None,
            };
            Ok((claim, change))
        })
        .await
}

pub async fn put(
    table: &Table,
    retention: SignedDuration,
    record: &DeliveryRecord,
) -> Result<(), StoreError> {
    let pk = delivery_pk(&record.notification_id);
    let change = delivery_change(record, retention)?;
    table
        .write(pk, DELIVERY_SK, &change, &Expect::Anything)
        .await?;
    Ok(())
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

/// Tallies a fan-out's child deliveries by status, reading every shard.
pub async fn count_children(
    table: &Table,
    parent: &NotificationId,
) -> Result<DeliveryCounts, StoreError> {
    let mut counts = DeliveryCounts::default();
    for partition in of_parent(parent, None).partitions {
        let mut pages = table.pages(Query {
            index: Some(LISTING),
            partition,
            range: Range::All,
            forward: true,
        });
        while let Some(page) = pages.next(1000).await? {
            for item in page {
                let status: DeliveryStatus =
                    serde_json::from_value(serde_json::Value::from(string(&item, STATUS)?))
                        .map_err(|e| StoreError::Corrupt(format!("delivery status: {e}")))?;
                counts.add(status, 1);
            }
        }
    }
    Ok(counts)
}

fn of_parent(parent: &NotificationId, after: Option<&NotificationId>) -> Sharded {
    Sharded {
        index: LISTING,
        partitions: shards(&children_partition(parent)).collect(),
        range: after.map_or(Range::All, |id| Range::After(id.to_string())),
        forward: true,
    }
}

/// The whole item; a fan-out child's also carries its parent's
/// [`LISTING`] keys, sharded so a large fan-out never writes one hot
/// index partition.
fn delivery_change(
    record: &DeliveryRecord,
    retention: SignedDuration,
) -> Result<Change, StoreError> {
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
    Ok(Change::default()
        .set(BODY, encode(record)?)
        .set(STATUS, text(record.status.to_string()))
        .set(EXPIRES_AT, number(expires.as_second()))
        .set_or_remove(LISTING.pk, listing.map(text))
        .set_or_remove(LISTING.sk, listing_sk))
}
