//! The webhook API's own items: idempotency keys (`IDEMPOTENCY#{key}`),
//! accepted notifications (`NOTIFICATION#{id}`) and the replay cache of
//! signed requests (`SIGNATURE#{digest}`), one item each.
//!
//! A key is claimed with [`IdempotencyClaim::decide`] on a consistent read,
//! written only if the item is still as read, exactly as delivery claims
//! are. Both kinds expire through the table's TTL; since DynamoDB deletes
//! expired items only eventually, the claim rule itself treats an expired
//! key as free.

use jiff::Timestamp;

use super::codec::{decode, encode, string, text};
use super::keys::{
    accepted_pk, idempotency_pk, signature_pk, ACCEPTED_SK, BODY, EXPIRES_AT, IDEMPOTENCY_SK,
    SIGNATURE_SK,
};
use super::table::{number, Change, Expect, Table};
use crate::ids::NotificationId;
use crate::store::ACCEPTED_RETENTION as RETENTION;

/// The attribute of a replay-cache item holding the request's
/// `Idempotency-Key` (empty: none).
const IDEMPOTENCY_KEY: &str = "idempotency_key";
use crate::store::{AcceptedNotification, IdempotencyClaim, IdempotencyRecord, StoreError};

pub async fn claim(
    table: &Table,
    record: &IdempotencyRecord,
    now: Timestamp,
) -> Result<IdempotencyClaim, StoreError> {
    table
        .read_modify_write(&idempotency_pk(&record.key), IDEMPOTENCY_SK, |item| {
            let existing = item.map(decode).transpose()?;
            let claim = IdempotencyClaim::decide(existing, now);
            let change = match claim {
                IdempotencyClaim::Claimed => Some(idempotency_change(record)?),
                IdempotencyClaim::Existing(_) => None,
            };
            Ok((claim, change))
        })
        .await
}

pub async fn put(table: &Table, record: &IdempotencyRecord) -> Result<(), StoreError> {
    let change = idempotency_change(record)?;
    table
        .write(
            idempotency_pk(&record.key),
            IDEMPOTENCY_SK,
            &change,
            &Expect::Anything,
        )
        .await?;
    Ok(())
}

/// One conditional put: the item must not exist; when it does, one read
/// of the key it holds. A digest names one request (its timestamp
/// included), so an item that outlived its TTL still only ever answers a
/// copy, and the copy's timestamp is stale by then anyway.
pub async fn remember_signature(
    table: &Table,
    digest: &str,
    idempotency_key: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let change = Change::default()
        .set(EXPIRES_AT, number(expires_at.as_second()))
        .set(IDEMPOTENCY_KEY, text(idempotency_key.to_owned()));
    if table
        .write(
            signature_pk(digest),
            SIGNATURE_SK,
            &change,
            // An expired one the TTL has not deleted yet is no replay.
            &Expect::AbsentOrExpired(now.as_second()),
        )
        .await?
    {
        return Ok(None);
    }
    let item = table.get(signature_pk(digest), SIGNATURE_SK).await?;
    Ok(Some(match item {
        Some(item) => string(&item, IDEMPOTENCY_KEY)?.to_owned(),
        None => String::new(),
    }))
}

pub async fn save_accepted(
    table: &Table,
    accepted: &AcceptedNotification,
) -> Result<(), StoreError> {
    let expires = accepted
        .accepted_at
        .checked_add(RETENTION)
        .unwrap_or(Timestamp::MAX);
    let change = Change::default()
        .set(BODY, encode(accepted)?)
        .set(EXPIRES_AT, number(expires.as_second()));
    table
        .write(
            accepted_pk(&accepted.id),
            ACCEPTED_SK,
            &change,
            &Expect::Anything,
        )
        .await?;
    Ok(())
}

pub async fn get_accepted(
    table: &Table,
    id: &NotificationId,
) -> Result<Option<AcceptedNotification>, StoreError> {
    let item = table.get(accepted_pk(id), ACCEPTED_SK).await?;
    item.as_ref().map(decode).transpose()
}

fn idempotency_change(record: &IdempotencyRecord) -> Result<Change, StoreError> {
    Ok(Change::default()
        .set(BODY, encode(record)?)
        .set(EXPIRES_AT, number(record.expires_at.as_second())))
}
