//! The directory ([`crate::store::DirectoryStore`]) in DynamoDB: one item
//! per entry, `DIRECTORY#{encoded key}`, its JSON in `body`, no index and
//! no TTL (entries are kept, see `store/directory.rs`).

use super::codec::{decode, encode};
use super::keys::{directory_pk, BODY, DIRECTORY_SK};
use super::table::{Change, Expect, Table};
use crate::store::{DirectoryEntry, DirectoryKey, StoreError};

pub async fn put(table: &Table, entry: &DirectoryEntry) -> Result<(), StoreError> {
    let change = Change::default().set(BODY, encode(entry)?);
    table
        .write(
            directory_pk(&entry.key()),
            DIRECTORY_SK,
            &change,
            &Expect::Anything,
        )
        .await?;
    Ok(())
}

pub async fn get(table: &Table, key: &DirectoryKey) -> Result<Option<DirectoryEntry>, StoreError> {
    let item = table.get(directory_pk(key), DIRECTORY_SK).await?;
    item.as_ref().map(decode).transpose()
}
