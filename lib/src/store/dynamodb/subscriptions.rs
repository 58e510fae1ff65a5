//! Subscriptions: one item per conversation and tag, under the
//! conversation's partition (`CONV#{key}`, `SUB#{tag}`; the general list is
//! the empty tag).
//!
//! Each item appears in two indexes: [`LISTING`] under `TAG#{tag}#{shard}`
//! (one tag's subscribers, in key order) and [`SUBSCRIBED`] under
//! `SUBS#{shard}` (every subscription, sorted by conversation key then tag),
//! which answers "every conversation subscribed to anything": a
//! conversation's subscriptions are adjacent there, so a listing collapses
//! them into one entry as it reads.
//!
//! Counts come from [`counters`](super::counters), never from the indexes:
//! a tag's counter (`COUNT#TAG#{tag}#{shard}`), the counter of conversations
//! subscribed to anything (`COUNT#SUBSCRIBED#{shard}`), both sharded by the
//! conversation's key, and each conversation's count of its own
//! subscriptions (`CONV#{key}`, `SUBCOUNT`). Subscribing is one transaction:
//! the subscription (if absent), +1 on the tag's counter and on the
//! conversation's own count, and +1 on "anything" when that count goes from
//! 0 to 1; the own count is written only if it is still as read, so two
//! racing subscribes of one conversation cannot both take it from 0 to 1.
//! Unsubscribing is the mirror image, and deletes the own count at 0.
//! Unsubscribing from everything removes the conversation's tags one by one
//! that way, which reads one partition (the conversation's), never the
//! audience.

use jiff::Timestamp;

use super::codec::{conversation_key, count, string, text};
use super::counters::Counter;
use super::keys::{
    conversation_pk, key_of_subscribed_sk, sharded, shards, subscribed_after, subscribed_sk,
    subscription_sk, tag_count_partition, tag_name, tag_partition, COUNT, COUNTER_SK, LISTING, SK,
    SUBSCRIBED, SUBSCRIBED_COUNT, SUBSCRIPTIONS, SUBSCRIPTION_COUNT_SK, SUBSCRIPTION_PREFIX,
};
use super::listing::Sharded;
use super::table::{Change, Expect, Item, Query, Range, Table};
use super::transaction::{Outcome, Transaction};
use crate::ids::ConversationKey;
use crate::store::{Page, StoreError};

pub async fn subscribe(
    table: &Table,
    key: &ConversationKey,
    tag: Option<&str>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let tag = tag_name(tag);
    let key_text = key.to_string();
    let change = Change::default()
        .set(LISTING.pk, text(sharded(&tag_partition(tag), &key_text)))
        .set(LISTING.sk, text(key_text.clone()))
        .set(SUBSCRIBED.pk, text(sharded(SUBSCRIPTIONS, &key_text)))
        .set(SUBSCRIBED.sk, text(subscribed_sk(key, tag)))
        .set("subscribed_at", text(at.to_string()));
    let (pk, change) = (&conversation_pk(key), &change);
    table
        .racing(pk, || async move {
            let (held, expect) = own_count(table, key).await?;
            let mut transaction = table.transaction();
            transaction.write(pk.clone(), &subscription_sk(tag), change, &Expect::Absent);
            transaction.write(
                pk.clone(),
                SUBSCRIPTION_COUNT_SK,
                &Change::default().add(COUNT, 1),
                &expect,
            );
            count_in(&mut transaction, key, tag, held == 0, 1);
            Ok(decided(transaction.commit().await?))
        })
        .await
}

pub async fn unsubscribe(
    table: &Table,
    key: &ConversationKey,
    tag: Option<&str>,
) -> Result<bool, StoreError> {
    if let Some(tag) = tag {
        return unsubscribe_one(table, key, tag).await;
    }
    let mut pages = table.pages(Query {
        index: None,
        partition: conversation_pk(key),
        range: Range::BeginsWith(SUBSCRIPTION_PREFIX.to_owned()),
        forward: true,
    });
    let mut tags = Vec::new();
    while let Some(page) = pages.next(100).await? {
        for item in page {
            let sk = string(&item, SK)?;
            let tag = sk.strip_prefix(SUBSCRIPTION_PREFIX).unwrap_or(sk);
            tags.push(tag.to_owned());
        }
    }
    let mut removed = false;
    for tag in tags {
        removed |= unsubscribe_one(table, key, &tag).await?;
    }
    Ok(removed)
}

/// Removes one subscription and counts it out; `false` if there was none.
async fn unsubscribe_one(
    table: &Table,
    key: &ConversationKey,
    tag: &str,
) -> Result<bool, StoreError> {
    let pk = &conversation_pk(key);
    table
        .racing(pk, || async move {
            let (held, expect) = own_count(table, key).await?;
            let mut transaction = table.transaction();
            transaction.delete(pk.clone(), &subscription_sk(tag), &Expect::Present);
            if held <= 1 {
                transaction.delete(pk.clone(), SUBSCRIPTION_COUNT_SK, &expect);
            } else {
                let change = Change::default().add(COUNT, -1);
                transaction.write(pk.clone(), SUBSCRIPTION_COUNT_SK, &change, &expect);
            }
            count_in(&mut transaction, key, tag, held <= 1, -1);
            Ok(decided(transaction.commit().await?))
        })
        .await
}

/// The answer of a transaction whose first step adds or removes the
/// subscription: `false` when that step found it already so (nothing to
/// do), `true` when it committed, `None` when it lost a race.
fn decided(outcome: Outcome) -> Option<bool> {
    if outcome.failed(0) {
        Some(false)
    } else {
        (outcome == Outcome::Committed).then_some(true)
    }
}

/// How many subscriptions the conversation has.
pub async fn count_own(table: &Table, key: &ConversationKey) -> Result<u64, StoreError> {
    let (held, _) = own_count(table, key).await?;
    Ok(u64::try_from(held).unwrap_or_default())
}

/// How many subscriptions the conversation has, and what a write must
/// expect to find to be sure it is still so.
async fn own_count(table: &Table, key: &ConversationKey) -> Result<(i64, Expect), StoreError> {
    let item = table
        .get(conversation_pk(key), SUBSCRIPTION_COUNT_SK)
        .await?;
    let held = item
        .as_ref()
        .map_or(Ok(0), |item| count::<i64>(item, COUNT))?;
    Ok((held, Expect::unchanged(item.as_ref())?))
}

/// Adds `by` to the tag's counter and, when the conversation starts or
/// stops being subscribed to anything (`first_or_last`), to that counter.
fn count_in(
    transaction: &mut Transaction<'_>,
    key: &ConversationKey,
    tag: &str,
    first_or_last: bool,
    by: i64,
) {
    let key = key.to_string();
    let change = Change::default().add(COUNT, by);
    let tagged = Counter::new(tag_count_partition(tag)).shard_of(&key);
    transaction.write(tagged, COUNTER_SK, &change, &Expect::Anything);
    if first_or_last {
        let anything = Counter::new(SUBSCRIBED_COUNT.to_owned()).shard_of(&key);
        transaction.write(anything, COUNTER_SK, &change, &Expect::Anything);
    }
}

pub async fn subscribers(
    table: &Table,
    tag: Option<&str>,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<ConversationKey>, StoreError> {
    let want = limit.saturating_add(1);
    let entries = match tag {
        Some(tag) => {
            let range = after.map_or(Range::All, |key| Range::After(key.to_string()));
            tagged(tag, range).first(table, want, listed_key).await?
        }
        None => {
            let range = after.map_or(Range::All, |key| Range::After(subscribed_after(key)));
            anything(range).first(table, want, subscribed_key).await?
        }
    };
    let keys = entries
        .iter()
        .map(|(key, _)| conversation_key(key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_probe(keys, limit, ConversationKey::clone))
}

/// A tag's subscribers, or (`None`) the conversations subscribed to
/// anything, from their counter: one read, whatever the count.
pub async fn count_of(table: &Table, tag: Option<&str>) -> Result<u64, StoreError> {
    let prefix = match tag {
        Some(tag) => tag_count_partition(tag),
        None => SUBSCRIBED_COUNT.to_owned(),
    };
    let [n] = Counter::new(prefix).read(table, [COUNT]).await?;
    Ok(n)
}

fn tagged(tag: &str, range: Range) -> Sharded {
    Sharded {
        index: LISTING,
        partitions: shards(&tag_partition(tag)).collect(),
        range,
        forward: true,
    }
}

fn anything(range: Range) -> Sharded {
    Sharded {
        index: SUBSCRIBED,
        partitions: shards(SUBSCRIPTIONS).collect(),
        range,
        forward: true,
    }
}

fn listed_key(item: &Item) -> Result<String, StoreError> {
    string(item, LISTING.sk).map(str::to_owned)
}

fn subscribed_key(item: &Item) -> Result<String, StoreError> {
    string(item, SUBSCRIBED.sk).map(|sk| key_of_subscribed_sk(sk).to_owned())
}
