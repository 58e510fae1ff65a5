//! Conversation references: one item per conversation, listed in key order
//! through the sharded [`LISTING`] partitions `REFS#{shard}`.

use super::codec::{conversation_key, decode, encode, string, text};
use super::keys::{
    conversation_pk, sharded, shards, user_partition, BODY, LISTING, REFERENCES, REFERENCE_SK,
    USERS,
};
use super::listing::Sharded;
use super::table::{Change, Expect, Range, Table};
use crate::ids::ConversationKey;
use crate::store::{Page, StoreError, StoredReference};

pub async fn save(table: &Table, reference: &StoredReference) -> Result<(), StoreError> {
    let change = reference_change(reference)?;
    let pk = conversation_pk(&reference.key);
    table
        .write(pk, REFERENCE_SK, &change, &Expect::Anything)
        .await?;
    Ok(())
}

pub async fn get(
    table: &Table,
    key: &ConversationKey,
) -> Result<Option<StoredReference>, StoreError> {
    let item = table.get(conversation_pk(key), REFERENCE_SK).await?;
    item.as_ref().map(decode).transpose()
}

pub async fn deactivate(
    table: &Table,
    key: &ConversationKey,
    reason: &str,
) -> Result<(), StoreError> {
    table
        .read_modify_write(&conversation_pk(key), REFERENCE_SK, |item| {
            let Some(item) = item else {
                return Ok(((), None));
            };
            let mut reference: StoredReference = decode(item)?;
            reference.deactivate(reason);
            Ok(((), Some(reference_change(&reference)?)))
        })
        .await
}

pub async fn list(
    table: &Table,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<StoredReference>, StoreError> {
    let listing = Sharded {
        index: LISTING,
        partitions: shards(REFERENCES).collect(),
        range: after.map_or(Range::All, |key| Range::After(key.to_string())),
        forward: true,
    };
    let references = listing.records(table, limit.saturating_add(1)).await?;
    Ok(Page::from_probe(
        references,
        limit,
        |r: &StoredReference| r.key.clone(),
    ))
}

/// The whole item; the [`USERS`] index keys only while the conversation is
/// active and its reference names a user, so that index holds exactly the
/// conversations a user can be notified in.
fn reference_change(reference: &StoredReference) -> Result<Change, StoreError> {
    let key = reference.key.to_string();
    let user = reference
        .user_id()
        .filter(|_| reference.active)
        .map(|user| user_partition(reference.key.channel_id(), user));
    let user_sk = user.as_ref().map(|_| text(key.clone()));
    Ok(Change::default()
        .set(BODY, encode(reference)?)
        .set(LISTING.pk, text(sharded(REFERENCES, &key)))
        .set(LISTING.sk, text(key))
        .set_or_remove(USERS.pk, user.map(text))
        .set_or_remove(USERS.sk, user_sk))
}

/// The active conversations of one user, from the [`USERS`] index.
pub async fn of_user(
    table: &Table,
    channel_id: &str,
    user_id: &str,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<ConversationKey>, StoreError> {
    let listing = Sharded {
        index: USERS,
        partitions: vec![user_partition(channel_id, user_id)],
        range: after.map_or(Range::All, |key| Range::After(key.to_string())),
        forward: true,
    };
    let entries = listing
        .first(table, limit.saturating_add(1), |item| {
            string(item, USERS.sk).map(str::to_owned)
        })
        .await?;
    let keys = entries
        .iter()
        .map(|(key, _)| conversation_key(key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_probe(keys, limit, ConversationKey::clone))
}
