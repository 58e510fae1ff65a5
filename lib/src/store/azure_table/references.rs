//! Conversation references: one entity per conversation (`conv:{key}`,
//! row key `ref`; the conversation's subscriptions share the partition),
//! and two indexes ([`super::index`]): every reference (`refs`, row key
//! the encoded key: key order) and each user's active conversations
//! (`user:{channel}!{user}`), which holds a conversation only while it is
//! active and its reference names the user.

use super::index;
use super::keys::{self, partition};
use super::record::{backend, body, read_modify_write, with_body, Decision};
use super::rest::{Condition, Entity, TableClient};
use crate::ids::ConversationKey;
use crate::store::{Page, StoreError, StoredReference};

pub const ROW: &str = "ref";
const ALL: &str = "refs";

pub async fn save(table: &TableClient, reference: &StoredReference) -> Result<(), StoreError> {
    let pk = conversation_pk(&reference.key);
    let before: Option<StoredReference> = table
        .get(&pk, ROW)
        .await
        .map_err(backend)?
        .as_ref()
        .map(body)
        .transpose()?;
    let mut entries = vec![listing_entry(&reference.key)];
    entries.extend(user_entry(reference));
    index::put(table, &entries).await?;
    let entity = with_body(Entity::new(&pk, ROW), reference)?;
    table
        .replace(&entity, Condition::None)
        .await
        .map_err(backend)?;
    forget_old_user(table, before.as_ref(), reference).await
}

pub async fn get(
    table: &TableClient,
    key: &ConversationKey,
) -> Result<Option<StoredReference>, StoreError> {
    let found = table
        .get(&conversation_pk(key), ROW)
        .await
        .map_err(backend)?;
    found.as_ref().map(body).transpose()
}

pub async fn deactivate(
    table: &TableClient,
    key: &ConversationKey,
    reason: &str,
) -> Result<(), StoreError> {
    let pk = conversation_pk(key);
    let changed = read_modify_write(table, &pk, ROW, |found| {
        let Some(found) = found else {
            return Ok(Decision::Keep(None));
        };
        let before: StoredReference = body(found)?;
        let mut after = before.clone();
        after.deactivate(reason);
        let entity = with_body(Entity::new(&pk, ROW), &after)?;
        Ok(Decision::Write(entity, Some((before, after))))
    })
    .await?;
    match changed {
        Some((before, after)) => forget_old_user(table, Some(&before), &after).await,
        None => Ok(()),
    }
}

pub async fn list(
    table: &TableClient,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<StoredReference>, StoreError> {
    let after = after.map(|key| keys::encode(&key.to_string()));
    let listed = index::read(
        table,
        ALL,
        after.as_deref(),
        limit.saturating_add(1),
        |entry, reference: &StoredReference| {
            keys::encode(&reference.key.to_string()) == entry.row_key
        },
    )
    .await?;
    let references = listed.into_iter().map(|(_, r)| r).collect();
    Ok(Page::from_probe(
        references,
        limit,
        |r: &StoredReference| r.key.clone(),
    ))
}

/// The active conversations whose reference names the user.
pub async fn of_user(
    table: &TableClient,
    channel_id: &str,
    user_id: &str,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<ConversationKey>, StoreError> {
    let after = after.map(|key| keys::encode(&key.to_string()));
    let listed = index::read(
        table,
        &user_partition(channel_id, user_id),
        after.as_deref(),
        limit.saturating_add(1),
        |_, reference: &StoredReference| {
            reference.active
                && reference.key.channel_id() == channel_id
                && reference.user_id() == Some(user_id)
        },
    )
    .await?;
    let keys = listed.into_iter().map(|(_, r)| r.key).collect();
    Ok(Page::from_probe(keys, limit, ConversationKey::clone))
}

/// Removes the user entry `before` had when `after` no longer has it.
async fn forget_old_user(
    table: &TableClient,
    before: Option<&StoredReference>,
    after: &StoredReference,
) -> Result<(), StoreError> {
    let Some(old) = before.and_then(user_entry) else {
        return Ok(());
    };
    let still = user_entry(after).is_some_and(|new| new.partition_key == old.partition_key);
    if still {
        return Ok(());
    }
    index::remove(table, &[old]).await
}

pub fn conversation_pk(key: &ConversationKey) -> String {
    partition("conv", &key.to_string())
}

fn listing_entry(key: &ConversationKey) -> Entity {
    index::entry(
        ALL,
        &keys::encode(&key.to_string()),
        &conversation_pk(key),
        ROW,
    )
}

/// The reference's entry in its user's index, while it is active and
/// names a user.
fn user_entry(reference: &StoredReference) -> Option<Entity> {
    let user = reference.user_id().filter(|_| reference.active)?;
    Some(index::entry(
        &user_partition(reference.key.channel_id(), user),
        &keys::encode(&reference.key.to_string()),
        &conversation_pk(&reference.key),
        ROW,
    ))
}

/// A user's partition: the encoded channel and user, joined by `!`, which
/// no encoded text contains.
fn user_partition(channel_id: &str, user_id: &str) -> String {
    format!(
        "user:{}!{}",
        keys::encode(channel_id),
        keys::encode(user_id)
    )
}
