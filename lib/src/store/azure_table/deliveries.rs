//! Delivery records, the notifier's idempotency records.
//!
//! A record that is no fan-out child is one entity (`dlv:{id}`, row key
//! `r`). A fan-out child lives with its siblings, in one of [`SHARDS`]
//! partitions of its parent (`kids:{parent}:{shard}`, row key the encoded
//! id), beside that shard's counter ([`keys::COUNTER`]: one number per
//! status). Every write of a child moves it from its old status to its new
//! one on the counter in the same entity group transaction, written only
//! if both are still as read; so `count_child_deliveries` reads
//! [`SHARDS`] entities however large the fan-out, and the counts are exact.
//!
//! Claims follow [`DeliveryClaim::decide`] on what was read; a claim that
//! loses a race decides again on what the winner wrote.

use jiff::Timestamp;

use super::batch::Write;
use super::index;
use super::keys::{self, partition, COUNTER};
use super::record::{backend, body, commit, unless_changed, with_body, Races};
use super::rest::{Condition, Entity, TableClient, TableError};
use super::retention::{self, Kind};
use crate::ids::{ConversationKey, NotificationId};
use crate::store::{
    DeliveryClaim, DeliveryCounts, DeliveryRecord, DeliveryStatus, Page, StoreError,
};

/// The partitions of one fan-out's children.
pub const SHARDS: u64 = 8;

const ROW: &str = "r";
const STATUS: &str = "status";
/// The prefix of a fan-out's children's partitions.
const CHILDREN: &str = "kids";
/// When the record was last updated (seconds since the epoch).
pub const UPDATED_AT: &str = "updatedAt";

pub async fn begin(
    table: &TableClient,
    id: &NotificationId,
    conversation: Option<&ConversationKey>,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<DeliveryClaim, StoreError> {
    let (pk, rk) = location(id);
    let mut races = Races::new(&pk);
    loop {
        let found = table.get(&pk, &rk).await.map_err(backend)?;
        let existing: Option<DeliveryRecord> = found.as_ref().map(body).transpose()?;
        let claim = DeliveryClaim::decide(existing, id, conversation.cloned(), now, lease_until);
        let DeliveryClaim::Proceed(record) = &claim else {
            return Ok(claim);
        };
        if found.is_none() {
            // Filed for retention once, when it is created.
            index::put(table, &[expiry(record)]).await?;
        }
        if write(table, record, found.as_ref()).await? {
            return Ok(claim);
        }
        races.lost().await?;
    }
}

/// Replaces the record (one [`begin`] created, and filed for retention);
/// a child's moves on its shard's counter from the status it had.
pub async fn put(table: &TableClient, record: &DeliveryRecord) -> Result<(), StoreError> {
    let (pk, rk) = location(&record.notification_id);
    if record.notification_id.parent().is_none() {
        let entity = entity(record)?;
        table
            .replace(&entity, Condition::None)
            .await
            .map_err(backend)?;
        return Ok(());
    }
    let mut races = Races::new(&pk);
    loop {
        let found = table.get(&pk, &rk).await.map_err(backend)?;
        if write(table, record, found.as_ref()).await? {
            return Ok(());
        }
        races.lost().await?;
    }
}

pub async fn get(
    table: &TableClient,
    id: &NotificationId,
) -> Result<Option<DeliveryRecord>, StoreError> {
    let (pk, rk) = location(id);
    let found = table.get(&pk, &rk).await.map_err(backend)?;
    found.as_ref().map(body).transpose()
}

/// A fan-out's children in (encoded) id order: each shard's next ones,
/// merged.
pub async fn children(
    table: &TableClient,
    parent: &NotificationId,
    after: Option<&NotificationId>,
    limit: usize,
) -> Result<Page<DeliveryRecord, NotificationId>, StoreError> {
    let want = limit.saturating_add(1);
    let after = after
        .map(|id| keys::encode(id.as_str()))
        .unwrap_or_default();
    let mut entities = Vec::new();
    for shard in 0..SHARDS {
        let filter = format!(
            "PartitionKey eq {} and RowKey gt {} and RowKey ne {}",
            keys::literal(&children_partition(parent, shard)),
            keys::literal(&after),
            keys::literal(COUNTER),
        );
        entities.extend(table.query_all(&filter, want).await.map_err(backend)?);
    }
    entities.sort_by(|a, b| a.row_key.cmp(&b.row_key));
    entities.truncate(want);
    let records = entities
        .iter()
        .map(body)
        .collect::<Result<Vec<DeliveryRecord>, _>>()?;
    Ok(Page::from_probe(records, limit, |r| {
        r.notification_id.clone()
    }))
}

/// A fan-out's children by status, from its shards' counters.
pub async fn count_children(
    table: &TableClient,
    parent: &NotificationId,
) -> Result<DeliveryCounts, StoreError> {
    let mut counts = DeliveryCounts::default();
    for shard in 0..SHARDS {
        let counter = table
            .get(&children_partition(parent, shard), COUNTER)
            .await
            .map_err(backend)?;
        for status in DeliveryStatus::ALL {
            let n = counter
                .as_ref()
                .and_then(|c| c.i64(status.as_str()))
                .unwrap_or_default();
            counts.add(status, u64::try_from(n).unwrap_or_default());
        }
    }
    Ok(counts)
}

/// Writes `record` if its entity is still `found`; a child together with
/// its move on the shard's counter. `false`: another writer got there
/// first, nothing written.
async fn write(
    table: &TableClient,
    record: &DeliveryRecord,
    found: Option<&Entity>,
) -> Result<bool, StoreError> {
    let entity = entity(record)?;
    let condition = match found.and_then(|f| f.etag.as_deref()) {
        Some(etag) => Condition::Matches(etag),
        None => Condition::None,
    };
    if record.notification_id.parent().is_none() {
        let written = match found {
            Some(_) => table.replace(&entity, condition).await.map(|_| ()),
            None => table.insert(&entity).await.map(|_| ()),
        };
        return match written {
            Ok(()) => Ok(true),
            Err(TableError::Changed | TableError::Exists) => Ok(false),
            Err(other) => Err(backend(other)),
        };
    }
    let before = found
        .map(|f| f.text(STATUS).unwrap_or_default().parse::<DeliveryStatus>())
        .transpose()
        .map_err(StoreError::Corrupt)?;
    let counter = table
        .get(&entity.partition_key, COUNTER)
        .await
        .map_err(backend)?;
    let tally = moved(
        &entity.partition_key,
        counter.as_ref(),
        before,
        Some(record.status),
    );
    with_counter(
        table,
        unless_changed(entity, found),
        tally,
        counter.as_ref(),
    )
    .await
}

/// Applies `write` and the shard counter's new `tally` in one
/// transaction, the counter only if it is still `counter`; `false` if
/// either changed meanwhile.
async fn with_counter(
    table: &TableClient,
    write: Write<'_>,
    tally: Entity,
    counter: Option<&Entity>,
) -> Result<bool, StoreError> {
    commit(table, &[write, unless_changed(tally, counter)]).await
}

/// The counter of partition `pk` as `counter` holds it, with one child
/// moved from status `from` to `to` (`None`: not counted there).
fn moved(
    pk: &str,
    counter: Option<&Entity>,
    from: Option<DeliveryStatus>,
    to: Option<DeliveryStatus>,
) -> Entity {
    let mut tally = Entity::new(pk, COUNTER);
    for status in DeliveryStatus::ALL {
        let mut n = counter
            .and_then(|c| c.i64(status.as_str()))
            .unwrap_or_default();
        if from != to {
            if from == Some(status) {
                n -= 1;
            }
            if to == Some(status) {
                n += 1;
            }
        }
        tally = tally.with_i64(status.as_str(), n);
    }
    tally
}

/// The record's entry in the expiry index, at its creation.
fn expiry(record: &DeliveryRecord) -> Entity {
    let (pk, rk) = location(&record.notification_id);
    retention::entry(Kind::Delivery, record.created_at, &pk, &rk)
}

/// Whether a stored entity is a fan-out child's record.
pub fn is_child(entity: &Entity) -> bool {
    entity.partition_key.starts_with(&format!("{CHILDREN}:")) && entity.row_key != COUNTER
}

/// Deletes a child's record as read, taking it off its shard's counter in
/// the same transaction; `false` if either changed meanwhile.
pub async fn delete_child(table: &TableClient, record: &Entity) -> Result<bool, StoreError> {
    let status = record
        .text(STATUS)
        .unwrap_or_default()
        .parse::<DeliveryStatus>()
        .map_err(StoreError::Corrupt)?;
    let counter = table
        .get(&record.partition_key, COUNTER)
        .await
        .map_err(backend)?;
    let tally = moved(&record.partition_key, counter.as_ref(), Some(status), None);
    let delete = Write::Delete {
        partition_key: record.partition_key.clone(),
        row_key: record.row_key.clone(),
        condition: record
            .etag
            .as_deref()
            .map_or(Condition::Exists, Condition::Matches),
    };
    with_counter(table, delete, tally, counter.as_ref()).await
}

/// The record's entity: its status (for the counter's bookkeeping) and
/// when it was last updated (for retention) beside its body.
fn entity(record: &DeliveryRecord) -> Result<Entity, StoreError> {
    let (pk, rk) = location(&record.notification_id);
    let entity = Entity::new(pk, rk)
        .with(STATUS, record.status.as_str())
        .with_i64(UPDATED_AT, record.updated_at.as_second());
    with_body(entity, record)
}

/// Where a record lives: a child in its parent's shard, any other in its
/// own partition.
fn location(id: &NotificationId) -> (String, String) {
    match id.parent() {
        Some(parent) => {
            let shard = keys::shard(id.as_str(), SHARDS);
            (
                children_partition(&parent, shard),
                keys::encode(id.as_str()),
            )
        }
        None => (partition("dlv", id.as_str()), ROW.to_owned()),
    }
}

fn children_partition(parent: &NotificationId, shard: u64) -> String {
    format!("{}:{shard}", partition(CHILDREN, parent.as_str()))
}
