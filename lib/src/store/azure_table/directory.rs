//! The directory ([`crate::store::DirectoryStore`]) in Table Storage: one
//! entity per entry in partition `dir:{encoded key}`, row key `r`, kept
//! (entries are small and few, see `store/directory.rs`).

use super::keys::partition;
use super::record::{backend, body, with_body};
use super::rest::{Condition, Entity, TableClient};
use crate::store::{DirectoryEntry, DirectoryKey, StoreError};

const ROW: &str = "r";

pub async fn put(table: &TableClient, entry: &DirectoryEntry) -> Result<(), StoreError> {
    let pk = partition("dir", &entry.key().encoded());
    table
        .replace(&with_body(Entity::new(&pk, ROW), entry)?, Condition::None)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn get(
    table: &TableClient,
    key: &DirectoryKey,
) -> Result<Option<DirectoryEntry>, StoreError> {
    let found = table
        .get(&partition("dir", &key.encoded()), ROW)
        .await
        .map_err(backend)?;
    found.as_ref().map(body).transpose()
}
