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

use jiff::Timestamp;

use super::codec::{conversation_key, string, text};
use super::keys::{
    conversation_pk, key_of_subscribed_sk, sharded, shards, subscribed_after, subscribed_sk,
    subscription_sk, tag_name, tag_partition, LISTING, SUBSCRIBED, SUBSCRIPTIONS,
    SUBSCRIPTION_PREFIX,
};
use super::listing::Sharded;
use super::table::{Change, Expect, Item, Query, Range, Table};
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
    table
        .write(
            conversation_pk(key),
            &subscription_sk(tag),
            &change,
            &Expect::Absent,
        )
        .await
}

pub async fn unsubscribe(
    table: &Table,
    key: &ConversationKey,
    tag: Option<&str>,
) -> Result<bool, StoreError> {
    let pk = conversation_pk(key);
    if let Some(tag) = tag {
        return table.delete(pk, &subscription_sk(tag)).await;
    }
    let mut pages = table.pages(Query {
        index: None,
        partition: pk.clone(),
        range: Range::BeginsWith(SUBSCRIPTION_PREFIX.to_owned()),
        forward: true,
    });
    let mut removed = false;
    while let Some(page) = pages.next(100).await? {
        for item in page {
            let sk = string(&item, super::keys::SK)?;
            removed |= table.delete(pk.clone(), sk).await?;
        }
    }
    Ok(removed)
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

pub async fn count(table: &Table, tag: Option<&str>) -> Result<u64, StoreError> {
    match tag {
        Some(tag) => {
            let mut total = 0;
            for partition in tagged(tag, Range::All).partitions {
                total += table
                    .count(Query {
                        index: Some(LISTING),
                        partition,
                        range: Range::All,
                        forward: true,
                    })
                    .await?;
            }
            Ok(total)
        }
        None => {
            let everyone = anything(Range::All)
                .first(table, usize::MAX, subscribed_key)
                .await?;
            Ok(everyone.len() as u64)
        }
    }
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
