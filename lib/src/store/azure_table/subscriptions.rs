//! Subscriptions, counted exactly without transactions across partitions.
//!
//! - **The conversation's own list** is one entity in its partition
//!   (`conv:{key}`, row key `subs`): its tags (the general list is the
//!   empty tag), a version that every change increments, and the tags
//!   whose other side may still lag (`pending`). Every change is a
//!   conditional write of this entity, so changes of one conversation are
//!   ordered, and of two simultaneous subscribes to one tag exactly one is
//!   new.
//! - **The audiences**: each tag's subscribers (`tag:{tag}!{shard}`) and
//!   the conversations subscribed to anything (`anyone!{shard}`), sharded
//!   by the conversation's key, hold one entity per conversation (row key
//!   the encoded key: key order) with whether it is subscribed and the
//!   version that said so, beside a counter per shard
//!   ([`keys::COUNTER`]). An entity and its shard's counter change in one
//!   entity group transaction, and only to a newer version, so each
//!   audience's count equals its entities exactly, applying a change twice
//!   does nothing, and an older change arriving late loses to a newer one.
//!
//! A change writes the conversation's list first, then brings the
//! audiences it touches (and any still pending) to that version. A crash
//! between leaves the tag pending in the list; the conversation's next
//! change applies it. Unsubscribed conversations stay as entities marked
//! not subscribed (listings skip them), so a late older change cannot
//! bring them back; the list entity is never deleted, so versions only
//! grow.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::keys::{self, partition, COUNTER};
use super::record::{
    backend, body, commit, read_modify_write, unless_changed, with_body, Decision, Races,
};
use super::references::conversation_pk;
use super::rest::{Entity, TableClient};
use crate::ids::ConversationKey;
use crate::store::{Page, StoreError};

/// The partitions of each audience.
const SHARDS: u64 = 8;
const ROW: &str = "subs";
const PRESENT: &str = "present";
const VERSION: &str = "version";
const COUNT: &str = "n";

/// A conversation's subscriptions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Subscriptions {
    tags: BTreeSet<String>,
    version: i64,
    pending: BTreeSet<String>,
}

pub async fn subscribe(
    table: &TableClient,
    key: &ConversationKey,
    tag: Option<&str>,
    _at: Timestamp,
) -> Result<bool, StoreError> {
    let tag = tag.unwrap_or_default().to_owned();
    change(table, key, |subs| {
        if !subs.tags.insert(tag.clone()) {
            return false;
        }
        subs.pending.insert(tag.clone());
        true
    })
    .await
}

pub async fn unsubscribe(
    table: &TableClient,
    key: &ConversationKey,
    tag: Option<&str>,
) -> Result<bool, StoreError> {
    change(table, key, |subs| match tag {
        Some(tag) => {
            if !subs.tags.remove(tag) {
                return false;
            }
            subs.pending.insert(tag.to_owned());
            true
        }
        None => {
            if subs.tags.is_empty() {
                return false;
            }
            let all = std::mem::take(&mut subs.tags);
            subs.pending.extend(all);
            true
        }
    })
    .await
}

/// Applies `edit` to the conversation's list (a new version when it says
/// it changed something), then brings the audiences to the list's
/// version. Returns what `edit` said.
async fn change(
    table: &TableClient,
    key: &ConversationKey,
    mut edit: impl FnMut(&mut Subscriptions) -> bool,
) -> Result<bool, StoreError> {
    let pk = conversation_pk(key);
    let (changed, subs) = read_modify_write(table, &pk, ROW, |found| {
        let mut subs: Subscriptions = found.map(body).transpose()?.unwrap_or_default();
        if !edit(&mut subs) {
            return Ok(Decision::Keep((false, subs)));
        }
        subs.version += 1;
        let entity = with_body(Entity::new(&pk, ROW), &subs)?;
        Ok(Decision::Write(entity, (true, subs)))
    })
    .await?;
    if changed || !subs.pending.is_empty() {
        apply(table, key, &subs).await?;
        settle(table, &pk, &subs).await?;
    }
    Ok(changed)
}

/// Brings every pending tag's audience, and the audience of conversations
/// subscribed to anything, to `subs`' version.
async fn apply(
    table: &TableClient,
    key: &ConversationKey,
    subs: &Subscriptions,
) -> Result<(), StoreError> {
    let row = keys::encode(&key.to_string());
    let shard = shard_of(key);
    for tag in &subs.pending {
        let present = subs.tags.contains(tag);
        mark(
            table,
            &tag_partition(tag, shard),
            &row,
            present,
            subs.version,
        )
        .await?;
    }
    let anyone = !subs.tags.is_empty();
    mark(table, &anyone_partition(shard), &row, anyone, subs.version).await
}

/// Clears the pending tags `subs` applied, unless a newer change came
/// meanwhile (it applies them itself).
async fn settle(table: &TableClient, pk: &str, subs: &Subscriptions) -> Result<(), StoreError> {
    read_modify_write(table, pk, ROW, |found| {
        let mut now: Subscriptions = found.map(body).transpose()?.unwrap_or_default();
        if now.version != subs.version || now.pending.is_empty() {
            return Ok(Decision::Keep(()));
        }
        now.pending.clear();
        Ok(Decision::Write(with_body(Entity::new(pk, ROW), &now)?, ()))
    })
    .await
}

/// Sets the conversation's entity in one audience shard to `present` as
/// of `version`, moving the shard's counter with it; an entity already at
/// `version` or later is left as it is.
async fn mark(
    table: &TableClient,
    partition: &str,
    row: &str,
    present: bool,
    version: i64,
) -> Result<(), StoreError> {
    let mut races = Races::new(partition);
    loop {
        let found = table.get(partition, row).await.map_err(backend)?;
        if found.as_ref().and_then(|f| f.i64(VERSION)).unwrap_or(0) >= version {
            return Ok(());
        }
        let was = found.as_ref().is_some_and(is_present);
        let entity = Entity::new(partition, row)
            .with(PRESENT, if present { "1" } else { "0" })
            .with_i64(VERSION, version);
        let mut writes = vec![unless_changed(entity, found.as_ref())];
        // The shard's counter moves only when the conversation does.
        let moves = was != present;
        let counter = match moves {
            true => table.get(partition, COUNTER).await.map_err(backend)?,
            false => None,
        };
        if moves {
            let n = counter.as_ref().and_then(|c| c.i64(COUNT)).unwrap_or(0);
            let tally =
                Entity::new(partition, COUNTER).with_i64(COUNT, n + if present { 1 } else { -1 });
            writes.push(unless_changed(tally, counter.as_ref()));
        }
        if commit(table, &writes).await? {
            return Ok(());
        }
        races.lost().await?;
    }
}

fn is_present(entity: &Entity) -> bool {
    entity.text(PRESENT) == Some("1")
}

pub async fn subscribers(
    table: &TableClient,
    tag: Option<&str>,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<ConversationKey>, StoreError> {
    let want = limit.saturating_add(1);
    let after = after
        .map(|key| keys::encode(&key.to_string()))
        .unwrap_or_default();
    let mut rows = Vec::new();
    for partition in audience(tag) {
        let filter = format!(
            "PartitionKey eq {} and RowKey gt {} and RowKey ne {} and {PRESENT} eq '1'",
            keys::literal(&partition),
            keys::literal(&after),
            keys::literal(COUNTER),
        );
        let found = table.query_all(&filter, want).await.map_err(backend)?;
        rows.extend(found.into_iter().map(|entity| entity.row_key));
    }
    rows.sort();
    rows.truncate(want);
    let keys = rows
        .iter()
        .map(|row| {
            keys::decode(row)
                .and_then(|text| text.parse::<ConversationKey>().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("subscriber row {row:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_probe(keys, limit, ConversationKey::clone))
}

/// An audience's size: its shards' counters.
pub async fn count_subscribers(table: &TableClient, tag: Option<&str>) -> Result<u64, StoreError> {
    let mut total = 0;
    for partition in audience(tag) {
        let counter = table.get(&partition, COUNTER).await.map_err(backend)?;
        total += counter.as_ref().and_then(|c| c.i64(COUNT)).unwrap_or(0);
    }
    u64::try_from(total).map_err(|_| StoreError::Corrupt(format!("negative count {total}")))
}

pub async fn count_subscriptions(
    table: &TableClient,
    key: &ConversationKey,
) -> Result<u64, StoreError> {
    let found = table
        .get(&conversation_pk(key), ROW)
        .await
        .map_err(backend)?;
    let subs: Subscriptions = found.as_ref().map(body).transpose()?.unwrap_or_default();
    Ok(subs.tags.len() as u64)
}

/// The shard partitions of a tag's audience, or (`None`) of everyone
/// subscribed to anything.
fn audience(tag: Option<&str>) -> Vec<String> {
    (0..SHARDS)
        .map(|shard| match tag {
            Some(tag) => tag_partition(tag, shard),
            None => anyone_partition(shard),
        })
        .collect()
}

fn tag_partition(tag: &str, shard: u64) -> String {
    format!("{}!{shard}", partition("tag", tag))
}

fn anyone_partition(shard: u64) -> String {
    format!("anyone!{shard}")
}

fn shard_of(key: &ConversationKey) -> u64 {
    keys::shard(&key.to_string(), SHARDS)
}
