//! The webhook API's own items: idempotency keys (`IDEMPOTENCY#{key}`) and
//! accepted notifications (`NOTIFICATION#{id}`), one item each.
//!
//! A key is claimed with [`IdempotencyClaim::decide`] on a consistent read,
//! written only if the item is still as read, exactly as delivery claims
//! are. Both kinds expire through the table's TTL; since DynamoDB deletes
//! expired items only eventually, the claim rule itself treats an expired
//! key as free.

use jiff::Timestamp;

use super::codec::{decode, encode};
use super::deliveries::RETENTION;
use super::keys::{accepted_pk, idempotency_pk, ACCEPTED_SK, BODY, EXPIRES_AT, IDEMPOTENCY_SK};
use super::table::{number, Change, Expect, Table};
use crate::ids::NotificationId;
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
