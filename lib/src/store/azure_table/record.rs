//! Records as entities, and the one way the store changes a record that
//! others may change too.
//!
//! A record is its JSON in `body` (split over `body`, `body1`, … when it
//! is longer than a string property holds), beside whatever properties
//! the store filters on. [`read_modify_write`] reads an entity, lets the
//! caller decide on it, and writes the decision only if the entity is
//! still as read (`If-Match` on its ETag, or insert-only when it was
//! absent); a lost race decides again on what the winner wrote.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::batch::Write;
use super::rest::{Condition, Entity, TableClient, TableError};
use crate::store::StoreError;

const BODY: &str = "body";

/// A string property holds 64 KiB of UTF-16; chunks stay well inside it.
const CHUNK_CHARS: usize = 30_000;

/// How often a decision is taken again after losing a race before the
/// store reports contention.
const RACES: usize = 64;

/// `entity` carrying `record` as its body.
pub fn with_body<T: Serialize>(mut entity: Entity, record: &T) -> Result<Entity, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let chars: Vec<char> = json.chars().collect();
    for (n, chunk) in chars.chunks(CHUNK_CHARS).enumerate() {
        let name = if n == 0 {
            BODY.to_owned()
        } else {
            format!("{BODY}{n}")
        };
        entity = entity.with(&name, chunk.iter().collect::<String>());
    }
    Ok(entity)
}

/// The record an entity's body holds.
pub fn body<T: DeserializeOwned>(entity: &Entity) -> Result<T, StoreError> {
    let mut json = entity
        .text(BODY)
        .ok_or_else(|| StoreError::Corrupt(format!("entity {} has no body", entity.row_key)))?
        .to_owned();
    for n in 1.. {
        match entity.text(&format!("{BODY}{n}")) {
            Some(more) => json.push_str(more),
            None => break,
        }
    }
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What a decision writes.
pub enum Decision<A> {
    /// Write this entity (same keys), and answer `A`.
    Write(Entity, A),
    /// Write nothing, and answer `A`.
    Keep(A),
}

/// Reads the entity at (`partition_key`, `row_key`), decides with
/// `decide` on it, and writes the decision conditionally; decides again
/// when another writer got there first.
pub async fn read_modify_write<A>(
    table: &TableClient,
    partition_key: &str,
    row_key: &str,
    mut decide: impl FnMut(Option<&Entity>) -> Result<Decision<A>, StoreError>,
) -> Result<A, StoreError> {
    let mut races = Races::new(partition_key);
    loop {
        let found = table.get(partition_key, row_key).await.map_err(backend)?;
        let (entity, answer) = match decide(found.as_ref())? {
            Decision::Keep(answer) => return Ok(answer),
            Decision::Write(entity, answer) => (entity, answer),
        };
        let written = match found.as_ref().and_then(|f| f.etag.as_deref()) {
            Some(etag) => table
                .replace(&entity, Condition::Matches(etag))
                .await
                .map(|_| ()),
            None => table.insert(&entity).await.map(|_| ()),
        };
        match written {
            Ok(()) => return Ok(answer),
            Err(TableError::Changed | TableError::Exists) => races.lost().await?,
            Err(other) => return Err(backend(other)),
        }
    }
}

/// The races one decision may lose before the store reports contention:
/// after each lost one, [`Races::lost`] waits a little more, so racers
/// spread out.
pub struct Races<'a> {
    partition_key: &'a str,
    lost: usize,
}

impl<'a> Races<'a> {
    pub fn new(partition_key: &'a str) -> Races<'a> {
        Races {
            partition_key,
            lost: 0,
        }
    }

    /// Another writer got there first: waits before the next attempt, or
    /// reports contention after [`RACES`] lost races.
    pub async fn lost(&mut self) -> Result<(), StoreError> {
        self.lost += 1;
        if self.lost >= RACES {
            return Err(StoreError::Backend(format!(
                "{}: still contended after {RACES} attempts",
                self.partition_key
            )));
        }
        let millis = 2 + rand::random_range(0..=(self.lost as u64 * 4).min(100));
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Ok(())
    }
}

/// A transaction's write of `entity` over what was read (`found`): only
/// while it still has the ETag read, or, if nothing was there, only while
/// nothing is.
pub fn unless_changed<'a>(entity: Entity, found: Option<&'a Entity>) -> Write<'a> {
    match found.and_then(|f| f.etag.as_deref()) {
        Some(etag) => Write::Replace(entity, Condition::Matches(etag)),
        None => Write::Insert(entity),
    }
}

/// Applies `writes` together; `false` (nothing written) when one found
/// its entity changed since it was read.
pub async fn commit(table: &TableClient, writes: &[Write<'_>]) -> Result<bool, StoreError> {
    match table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(failed) if matches!(failed.error, TableError::Changed | TableError::Exists) => {
            Ok(false)
        }
        Err(failed) => Err(StoreError::Backend(failed.to_string())),
    }
}

pub fn backend(error: TableError) -> StoreError {
    match error {
        TableError::Exists => StoreError::Conflict,
        other => StoreError::Backend(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_split_and_read_back_whole() {
        let long = "é".repeat(CHUNK_CHARS * 2 + 5);
        let entity = with_body(Entity::new("p", "r"), &long).unwrap();
        assert!(entity.text("body2").is_some());
        assert_eq!(body::<String>(&entity).unwrap(), long);
    }
}
