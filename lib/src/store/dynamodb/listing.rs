//! Ordered listings over sharded index partitions (scatter-gather).
//!
//! A listing whose items are spread over [`super::keys::SHARDS`] partitions
//! so that no partition runs hot is read by asking every shard for its
//! first `want` entries in order, and merging: the first `want` of the
//! merged entries are the first `want` of the whole listing, because each
//! shard contributed everything it has before its own `want`-th entry.
//! Each shard is read page by page, since DynamoDB may cut a page short at
//! 1 MB whatever the limit.

use futures::future::try_join_all;
use serde::de::DeserializeOwned;

use super::codec::{decode, string};
use super::keys::Index;
use super::table::{Item, Query, Range, Table};
use crate::store::StoreError;

/// The same query on every shard's partition of `index`.
pub struct Sharded {
    pub index: Index,
    pub partitions: Vec<String>,
    pub range: Range,
    /// Ascending order, else descending.
    pub forward: bool,
}

/// An entry of a listing: its place in the order, and its item.
pub type Entry = (String, Item);

impl Sharded {
    /// The first `want` entries across every shard, in order. `order_key`
    /// places an item; items of one shard with the same order key as the
    /// one before them are one entry (the first item stands for them).
    pub async fn first(
        &self,
        table: &Table,
        want: usize,
        order_key: impl Fn(&Item) -> Result<String, StoreError> + Copy,
    ) -> Result<Vec<Entry>, StoreError> {
        let shards = self.partitions.iter().map(|partition| {
            let query = Query {
                index: Some(self.index),
                partition: partition.clone(),
                range: self.range.clone(),
                forward: self.forward,
            };
            read_distinct(table, query, want, order_key)
        });
        let mut entries: Vec<Entry> = try_join_all(shards).await?.concat();
        entries.sort_by(|(a, _), (b, _)| if self.forward { a.cmp(b) } else { b.cmp(a) });
        entries.dedup_by(|(a, _), (b, _)| a == b);
        entries.truncate(want);
        Ok(entries)
    }
}

impl Sharded {
    /// The records of the first `want` items, ordered by the index's sort
    /// key.
    pub async fn records<T: DeserializeOwned>(
        &self,
        table: &Table,
        want: usize,
    ) -> Result<Vec<T>, StoreError> {
        let sort_key = self.index.sk;
        let entries = self
            .first(table, want, |item| {
                string(item, sort_key).map(str::to_owned)
            })
            .await?;
        entries.iter().map(|(_, item)| decode(item)).collect()
    }
}

/// Reads one partition in order until `want` distinct entries have come or
/// it ends.
async fn read_distinct(
    table: &Table,
    query: Query,
    want: usize,
    order_key: impl Fn(&Item) -> Result<String, StoreError>,
) -> Result<Vec<Entry>, StoreError> {
    let mut entries: Vec<Entry> = Vec::new();
    if want == 0 {
        return Ok(entries);
    }
    let mut pages = table.pages(query);
    while let Some(page) = pages.next(want - entries.len()).await? {
        for item in page {
            let key = order_key(&item)?;
            if entries.last().is_some_and(|(last, _)| *last == key) {
                continue;
            }
            entries.push((key, item));
            if entries.len() == want {
                return Ok(entries);
            }
        }
    }
    Ok(entries)
}
