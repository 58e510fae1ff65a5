//! Sharded counters: how the webhook API learns how many subscribers a tag
//! has, or how far a fan-out has got, without reading the audience.
//!
//! Counting the items of an index reads every one of them (DynamoDB's
//! `Select::Count` still reads, and bills, each item), so a count would
//! grow with the audience. Instead every write that adds, removes or moves
//! a counted item also adds to a counter, in the same transaction
//! ([`super::transaction`]), conditioned on the counted item being as read:
//! a retry or a race can never count twice, and a counter is always exactly
//! the items it counts.
//!
//! A counter is [`SHARDS`] items (`{prefix}{shard}`, sort key
//! [`COUNTER_SK`]), and each write adds to the shard of the counted item's
//! key (the same [`shard`](super::keys::shard) its listing uses). One item
//! would be a hot spot: every subscribe to a tag, every delivery of a
//! fan-out would write it, and transactions that write one item at the same
//! time cancel each other (`TransactionConflict`). Spread over the shards,
//! writers rarely meet. Reading a counter is one `BatchGetItem` of its
//! [`SHARDS`] items, whatever the count.
//!
//! Counters start at nothing: a table written before they existed counts
//! its older subscriptions and fan-outs as nothing until they are
//! backfilled, and a total that would go below zero through them reads as
//! zero.

use super::codec::count;
use super::keys::{sharded, shards, COUNTER_SK, SHARDS};
use super::table::Table;
use crate::store::StoreError;

/// One sharded counter, by the partition prefix its shards share.
pub struct Counter {
    prefix: String,
}

impl Counter {
    pub fn new(prefix: String) -> Self {
        Self { prefix }
    }

    /// The partition key of the shard that counts the item keyed `of`.
    pub fn shard_of(&self, of: &str) -> String {
        sharded(&self.prefix, of)
    }

    /// The totals of the number attributes `names` over every shard, read
    /// in one request. A total below zero (a counter that predates some of
    /// what it counts) reads as zero.
    pub async fn read<const N: usize>(
        &self,
        table: &Table,
        names: [&str; N],
    ) -> Result<[u64; N], StoreError> {
        let keys: Vec<(String, &str)> = shards(&self.prefix).map(|pk| (pk, COUNTER_SK)).collect();
        debug_assert_eq!(keys.len() as u64, SHARDS);
        let mut totals = [0i64; N];
        for item in table.get_many(&keys).await? {
            for (total, name) in totals.iter_mut().zip(names) {
                *total = total.saturating_add(count::<i64>(&item, name)?);
            }
        }
        Ok(totals.map(|total| u64::try_from(total).unwrap_or(0)))
    }
}
