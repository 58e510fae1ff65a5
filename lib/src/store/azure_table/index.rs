//! Index entities: the service has no secondary indexes, so a listing is a
//! partition of small entities, each naming the record it stands for (its
//! `pk` and `rk`). They are written before the record and removed after
//! it changes; a reader reads the record each entry names and keeps the
//! entry only if the record agrees, so a crash between the two writes
//! costs a skipped entry, never a missed record.

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use super::keys;
use super::record::{backend, body};
use super::rest::{Condition, Entity, TableClient};
use crate::store::StoreError;

const RECORD_PK: &str = "pk";
const RECORD_RK: &str = "rk";
/// Reads of records the entries name, at once.
const READS_IN_FLIGHT: usize = 16;

/// An entry in `partition` under `row_key`, naming the record at
/// (`record_pk`, `record_rk`).
pub fn entry(partition: &str, row_key: &str, record_pk: &str, record_rk: &str) -> Entity {
    Entity::new(partition, row_key)
        .with(RECORD_PK, record_pk)
        .with(RECORD_RK, record_rk)
}

/// The record an entry names: its partition and row key.
pub fn target(entry: &Entity) -> (&str, &str) {
    (
        entry.text(RECORD_PK).unwrap_or_default(),
        entry.text(RECORD_RK).unwrap_or_default(),
    )
}

/// Writes entries (insert or replace).
pub async fn put(table: &TableClient, entries: &[Entity]) -> Result<(), StoreError> {
    for entry in entries {
        table
            .replace(entry, Condition::None)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// Removes entries, whether or not they are there.
pub async fn remove(table: &TableClient, entries: &[Entity]) -> Result<(), StoreError> {
    for entry in entries {
        table
            .delete(&entry.partition_key, &entry.row_key, Condition::None)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// The records `partition`'s entries name, in row-key order after
/// `after` (a row key), each with its entry, keeping those `keep`
/// accepts, until `want` are kept or the partition ends. Entries whose
/// record is gone, or that `keep` refuses, are skipped.
pub async fn read<T: DeserializeOwned>(
    table: &TableClient,
    partition: &str,
    after: Option<&str>,
    want: usize,
    keep: impl Fn(&Entity, &T) -> bool,
) -> Result<Vec<(Entity, T)>, StoreError> {
    let mut filter = format!("PartitionKey eq {}", keys::literal(partition));
    if let Some(after) = after {
        filter.push_str(&format!(" and RowKey gt {}", keys::literal(after)));
    }
    let mut kept = Vec::new();
    let mut from = None;
    while kept.len() < want {
        let page = table
            .query(&filter, want - kept.len(), from.as_ref())
            .await
            .map_err(backend)?;
        for (entry, record) in with_records::<T>(table, page.entities).await? {
            if let Some(record) = record.filter(|record| keep(&entry, record)) {
                kept.push((entry, record));
            }
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    kept.truncate(want);
    Ok(kept)
}

/// Entries paired with the record each names (`None`: gone).
pub async fn with_records<T: DeserializeOwned>(
    table: &TableClient,
    entries: Vec<Entity>,
) -> Result<Vec<(Entity, Option<T>)>, StoreError> {
    stream::iter(entries)
        .map(|entry| async move {
            let (pk, rk) = target(&entry);
            let record = table.get(pk, rk).await.map_err(backend)?;
            let record = record.as_ref().map(body).transpose()?;
            Ok::<_, StoreError>((entry, record))
        })
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await
}
