//! The embedded queue's dead letters: what the notifier sends there (with
//! the reason), and moving them back.
//!
//! Both are one transaction over the two tables, so a message is always in
//! exactly one of them.

use rusqlite::{params, Connection};

use crate::sqlite_db::{count, DbError};

/// The schema step that lets a dead letter say why it died.
pub(super) const MIGRATION: &str = "
    ALTER TABLE dead_letters ADD COLUMN reason TEXT;
";

/// Moves the message holding `receipt` to the dead letters.
pub(super) fn bury(
    conn: &mut Connection,
    receipt: &str,
    reason: &str,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO dead_letters (id, body, sent_at, receive_count, dead_at, reason)
         SELECT id, body, sent_at, receive_count, ?2, ?3 FROM messages WHERE receipt = ?1",
        params![receipt, now, reason],
    )?;
    conn.execute("DELETE FROM messages WHERE receipt = ?1", [receipt])?;
    Ok(())
}

/// Moves the oldest `max` dead letters back, visible at `now`.
pub(super) fn redrive(conn: &mut Connection, max: usize, now: i64) -> Result<usize, DbError> {
    let moved = conn.execute(
        "INSERT INTO messages (id, body, sent_at, visible_at, receive_count)
         SELECT id, body, sent_at, ?1, 0 FROM dead_letters ORDER BY seq LIMIT ?2",
        params![now, count(max)],
    )?;
    conn.execute(
        "DELETE FROM dead_letters WHERE seq IN
         (SELECT seq FROM dead_letters ORDER BY seq LIMIT ?1)",
        [count(max)],
    )?;
    Ok(moved)
}
