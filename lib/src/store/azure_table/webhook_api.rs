//! The webhook API's entities: idempotency keys (`idem:{key}`), accepted
//! notifications (`accepted:{id}`) and the replay cache of signed requests
//! (`sig:{digest}`), one entity each, row key `r`.
//!
//! A key is claimed by [`IdempotencyClaim::decide`] inside a conditional
//! write, as delivery claims are. Table Storage has no TTL: expired
//! entities stay until the maintenance tick purges them, so the rules
//! treat an expired one as absent.

use jiff::Timestamp;

use super::index;
use super::keys::partition;
use super::record::{backend, body, read_modify_write, with_body, Decision};
use super::rest::{Condition, Entity, TableClient};
use super::retention::{self, Kind};
use crate::ids::NotificationId;
use crate::store::{AcceptedNotification, IdempotencyClaim, IdempotencyRecord, StoreError};

const ROW: &str = "r";
/// When the entity may be purged (seconds since the epoch).
pub const EXPIRES_AT: &str = "expiresAt";
const IDEMPOTENCY_KEY: &str = "idempotencyKey";
/// When a notification was accepted (seconds since the epoch).
const ACCEPTED_AT: &str = "acceptedAt";

pub async fn claim(
    table: &TableClient,
    record: &IdempotencyRecord,
    now: Timestamp,
) -> Result<IdempotencyClaim, StoreError> {
    let pk = partition("idem", record.key.as_str());
    index::put(
        table,
        &[retention::entry(Kind::Key, record.expires_at, &pk, ROW)],
    )
    .await?;
    read_modify_write(table, &pk, ROW, |found| {
        let existing = found.map(body).transpose()?;
        Ok(match IdempotencyClaim::decide(existing, now) {
            IdempotencyClaim::Claimed => {
                Decision::Write(idempotency_entity(record)?, IdempotencyClaim::Claimed)
            }
            existing => Decision::Keep(existing),
        })
    })
    .await
}

pub async fn put(table: &TableClient, record: &IdempotencyRecord) -> Result<(), StoreError> {
    let pk = partition("idem", record.key.as_str());
    index::put(
        table,
        &[retention::entry(Kind::Key, record.expires_at, &pk, ROW)],
    )
    .await?;
    table
        .replace(&idempotency_entity(record)?, Condition::None)
        .await
        .map_err(backend)?;
    Ok(())
}

fn idempotency_entity(record: &IdempotencyRecord) -> Result<Entity, StoreError> {
    let entity = Entity::new(partition("idem", record.key.as_str()), ROW)
        .with_i64(EXPIRES_AT, record.expires_at.as_second());
    with_body(entity, record)
}

/// An insert; when the digest is there and unexpired, its key.
pub async fn remember_signature(
    table: &TableClient,
    digest: &str,
    idempotency_key: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let pk = partition("sig", digest);
    index::put(table, &[retention::entry(Kind::Key, expires_at, &pk, ROW)]).await?;
    let entity = Entity::new(&pk, ROW)
        .with_i64(EXPIRES_AT, expires_at.as_second())
        .with(IDEMPOTENCY_KEY, idempotency_key);
    read_modify_write(table, &pk, ROW, |found| {
        Ok(match found {
            // An expired one the tick has not purged yet is no replay.
            Some(seen) if seen.i64(EXPIRES_AT).unwrap_or(i64::MAX) >= now.as_second() => {
                Decision::Keep(Some(
                    seen.text(IDEMPOTENCY_KEY).unwrap_or_default().to_owned(),
                ))
            }
            _ => Decision::Write(entity.clone(), None),
        })
    })
    .await
}

pub async fn save_accepted(
    table: &TableClient,
    accepted: &AcceptedNotification,
) -> Result<(), StoreError> {
    let pk = partition("accepted", accepted.id.as_str());
    index::put(
        table,
        &[retention::entry(
            Kind::Accepted,
            accepted.accepted_at,
            &pk,
            ROW,
        )],
    )
    .await?;
    let entity = Entity::new(&pk, ROW).with_i64(ACCEPTED_AT, accepted.accepted_at.as_second());
    table
        .replace(&with_body(entity, accepted)?, Condition::None)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn get_accepted(
    table: &TableClient,
    id: &NotificationId,
) -> Result<Option<AcceptedNotification>, StoreError> {
    let found = table
        .get(&partition("accepted", id.as_str()), ROW)
        .await
        .map_err(backend)?;
    found.as_ref().map(body).transpose()
}
