//! The embedded store's queries for the webhook API: a user's conversations,
//! a fan-out's deliveries, idempotency keys and accepted notifications.
//!
//! Each answers from an index (`conversations_by_user_key`,
//! `deliveries_by_parent`) or a primary key, so its cost follows the size of
//! the answer, not of the store. A fan-out's counts are a `COUNT` over
//! `deliveries_by_parent`, so they cost a walk of that fan-out's index
//! entries: local and cheap for the one developer the embedded host
//! serves, and always exactly right, so no counters are kept here (the
//! DynamoDB store keeps them, where a count read item by item over the
//! network would grow with the audience). An expired idempotency key is
//! claimed afresh ([`IdempotencyClaim::decide`]); expired keys and
//! signatures are deleted by the maintenance tick (`retention`), through
//! an index on the expiry.

use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::{cursor, parse_key, probe, query_column, read_body};
use crate::ids::{ConversationKey, NotificationId};
use crate::sqlite_db::{decode, encode, DbError};
use crate::store::{
    AcceptedNotification, DeliveryCounts, DeliveryRecord, DeliveryStatus, IdempotencyClaim,
    IdempotencyRecord, Page,
};

/// The schema step that adds what these queries read. Existing delivery
/// records of fan-out children learn their parent from their id.
pub(super) const MIGRATION: &str = "
    ALTER TABLE deliveries ADD COLUMN parent TEXT;
    UPDATE deliveries SET parent = substr(id, 1, length(id) - 17)
        WHERE length(id) > 17 AND substr(id, -17, 1) = '.'
          AND substr(id, -16) NOT GLOB '*[^0-9a-f]*';
    CREATE INDEX IF NOT EXISTS deliveries_by_parent ON deliveries (parent, id)
        WHERE parent IS NOT NULL;
    CREATE INDEX IF NOT EXISTS conversations_by_user_key
        ON conversations (channel_id, user_id, key) WHERE active = 1;

    CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY NOT NULL,
        expires_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency (expires_at);

    CREATE TABLE IF NOT EXISTS accepted (
        id TEXT PRIMARY KEY NOT NULL,
        accepted_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
";

/// The schema step that adds the replay cache of signed webhook requests.
pub(super) const REPLAY_MIGRATION: &str = "
    CREATE TABLE IF NOT EXISTS signatures (
        digest TEXT PRIMARY KEY NOT NULL,
        idempotency_key TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS signatures_by_expiry ON signatures (expires_at);
";

/// Inserts `digest` unless it is there (then answers the key it came
/// with). An expired copy of this digest is dropped first, so it does not
/// count as a replay; the other expired ones are the maintenance tick's
/// (`retention`).
pub(super) fn remember_signature(
    conn: &mut Connection,
    digest: &str,
    idempotency_key: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Option<String>, DbError> {
    conn.execute(
        "DELETE FROM signatures WHERE digest = ?1 AND expires_at <= ?2",
        params![digest, now.as_millisecond()],
    )?;
    let inserted = conn.execute(
        "INSERT INTO signatures (digest, idempotency_key, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (digest) DO NOTHING",
        params![digest, idempotency_key, expires_at.as_millisecond()],
    )?;
    let seen = if inserted == 1 {
        None
    } else {
        Some(conn.query_row(
            "SELECT idempotency_key FROM signatures WHERE digest = ?1",
            [digest],
            |row| row.get(0),
        )?)
    };
    Ok(seen)
}

pub(super) fn user_conversations(
    conn: &Connection,
    channel_id: &str,
    user_id: &str,
    after: Option<&ConversationKey>,
    limit: usize,
) -> Result<Page<ConversationKey>, DbError> {
    let keys: Vec<String> = query_column(
        conn,
        "SELECT key FROM conversations
         WHERE channel_id = ?1 AND user_id = ?2 AND active = 1 AND key > ?3
         ORDER BY key LIMIT ?4",
        params![channel_id, user_id, cursor(after), probe(limit)],
    )?;
    let keys = keys
        .iter()
        .map(|key| parse_key(key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_probe(keys, limit, ConversationKey::clone))
}

pub(super) fn child_deliveries(
    conn: &Connection,
    parent: &NotificationId,
    after: Option<&NotificationId>,
    limit: usize,
) -> Result<Page<DeliveryRecord, NotificationId>, DbError> {
    let after = after.map(ToString::to_string).unwrap_or_default();
    let bodies: Vec<String> = query_column(
        conn,
        "SELECT body FROM deliveries WHERE parent = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        params![parent.as_str(), after, probe(limit)],
    )?;
    let records = bodies
        .iter()
        .map(|body| decode(body))
        .collect::<Result<Vec<DeliveryRecord>, _>>()?;
    Ok(Page::from_probe(records, limit, |r| {
        r.notification_id.clone()
    }))
}

pub(super) fn count_child_deliveries(
    conn: &Connection,
    parent: &NotificationId,
) -> Result<DeliveryCounts, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT status, COUNT(*) FROM deliveries WHERE parent = ?1 GROUP BY status",
    )?;
    let rows = statement.query_map([parent.as_str()], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    let mut counts = DeliveryCounts::default();
    for row in rows {
        let (status, n) = row?;
        let status: DeliveryStatus = status.parse().map_err(DbError::Corrupt)?;
        counts.add(status, u64::try_from(n).unwrap_or_default());
    }
    Ok(counts)
}

pub(super) fn claim_idempotency(
    conn: &mut Connection,
    record: &IdempotencyRecord,
    now: Timestamp,
) -> Result<IdempotencyClaim, DbError> {
    let existing: Option<IdempotencyRecord> = read_body(
        conn,
        "SELECT body FROM idempotency WHERE key = ?1",
        record.key.as_str(),
    )?;
    let claim = IdempotencyClaim::decide(existing, now);
    if claim == IdempotencyClaim::Claimed {
        put_idempotency(conn, record)?;
    }
    Ok(claim)
}

pub(super) fn put_idempotency(
    conn: &Connection,
    record: &IdempotencyRecord,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO idempotency (key, expires_at, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body",
        params![
            record.key.as_str(),
            record.expires_at.as_millisecond(),
            encode(record)?
        ],
    )?;
    Ok(())
}

pub(super) fn save_accepted(
    conn: &Connection,
    accepted: &AcceptedNotification,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO accepted (id, accepted_at, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET accepted_at = excluded.accepted_at, body = excluded.body",
        params![
            accepted.id.as_str(),
            accepted.accepted_at.as_millisecond(),
            encode(accepted)?
        ],
    )?;
    Ok(())
}

pub(super) fn get_accepted(
    conn: &Connection,
    id: &NotificationId,
) -> Result<Option<AcceptedNotification>, DbError> {
    read_body(conn, "SELECT body FROM accepted WHERE id = ?1", id.as_str())
}
