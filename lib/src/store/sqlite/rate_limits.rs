//! The embedded store's rate-limit states: one row per limited thing (a
//! conversation, the bot in a tenant, the bot overall), decided by [`RateState::reserve`] inside one
//! `IMMEDIATE` transaction, so the notifier's concurrent tasks never both
//! take the same slot.
//!
//! A row is useless once its `expires_at` has passed (no window can see its
//! sends any more); reservations delete a few such rows each time, through an
//! index on the expiry, so the table holds about an hour's worth of
//! conversations.

use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::read_body;
use crate::rate::{Ask, Limited, RateState, Rule};
use crate::sqlite_db::{encode, DbError};

/// The schema step that adds the table.
pub(super) const MIGRATION: &str = "
    CREATE TABLE IF NOT EXISTS rate_limits (
        key TEXT PRIMARY KEY NOT NULL,
        expires_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS rate_limits_by_expiry ON rate_limits (expires_at);
";

/// Expired rows deleted per reservation: enough to keep up with any rate of
/// new conversations, few enough to cost nothing.
const SWEEP: i64 = 8;

pub(super) fn reserve(
    conn: &mut Connection,
    limited: &Limited,
    rule: &Rule,
    ask: &Ask,
) -> Result<Option<Timestamp>, DbError> {
    if rule.is_unlimited() {
        return Ok(Some(ask.earliest));
    }
    let key = limited.to_string();
    let mut state: RateState =
        read_body(conn, "SELECT body FROM rate_limits WHERE key = ?1", &key)?.unwrap_or_default();
    // Decided now, not when the caller asked: waiting for the lock must
    // not hand out a slot that is already in the past.
    let slot = state.take(rule, Timestamp::now(), ask);
    conn.execute(
        "INSERT INTO rate_limits (key, expires_at, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body",
        params![
            key,
            state.expires_at(rule).as_millisecond(),
            encode(&state)?
        ],
    )?;
    conn.execute(
        "DELETE FROM rate_limits WHERE key IN
         (SELECT key FROM rate_limits WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
        params![ask.earliest.as_millisecond(), SWEEP],
    )?;
    Ok(slot)
}
