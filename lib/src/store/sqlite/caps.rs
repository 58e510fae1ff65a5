//! What the caps and the parking of reminders read: unfinished jobs and
//! pending reminders by owner conversation and by the user who made them,
//! a conversation's subscriptions, its parked reminders, and job logs.
//!
//! Each is a partial index over the rows it counts (unfinished jobs,
//! pending or parked reminders), so a count walks no more than the
//! holder's own live records, and stops at the cap.

use rusqlite::{params, Connection};

use super::{query_column, read_reminders};
use crate::sqlite_db::{count, decode, DbError};
use crate::store::{Holder, Job, Reminder};

/// The schema step that adds the columns and indexes these queries read.
/// Jobs stored before it learn their owner from their body, and are in no
/// job log (their log is empty).
pub(super) const MIGRATION: &str = "
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    ALTER TABLE jobs ADD COLUMN log TEXT NOT NULL DEFAULT '';
    ALTER TABLE jobs ADD COLUMN created_by TEXT;
    UPDATE jobs SET owner = json_extract(body, '$.owner');
    CREATE INDEX IF NOT EXISTS jobs_by_log ON jobs (log, created_at);
    CREATE INDEX IF NOT EXISTS unfinished_jobs_by_owner ON jobs (owner)
        WHERE status != 'complete';
    CREATE INDEX IF NOT EXISTS unfinished_jobs_by_creator ON jobs (created_by)
        WHERE status != 'complete' AND created_by IS NOT NULL;

    ALTER TABLE reminders ADD COLUMN created_by TEXT;
    CREATE INDEX IF NOT EXISTS pending_reminders_by_creator ON reminders (created_by)
        WHERE status = 'pending' AND created_by IS NOT NULL;
    CREATE INDEX IF NOT EXISTS parked_reminders_by_owner ON reminders (owner, next_due)
        WHERE status = 'parked';
";

pub(super) fn list_jobs(conn: &Connection, log: &str, limit: usize) -> Result<Vec<Job>, DbError> {
    let bodies: Vec<String> = query_column(
        conn,
        "SELECT body FROM jobs WHERE log = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2",
        params![log, count(limit)],
    )?;
    bodies.iter().map(|body| decode(body)).collect()
}

/// What a cap counts: rows of one kind that are still live.
#[derive(Debug, Clone, Copy)]
pub(super) enum Live {
    UnfinishedJobs,
    PendingReminders,
}

/// A [`Holder`] that can move onto the blocking pool.
pub(super) enum OwnedHolder {
    Conversation(String),
    User(String),
}

impl From<Holder<'_>> for OwnedHolder {
    fn from(holder: Holder<'_>) -> Self {
        match holder {
            Holder::Conversation(key) => OwnedHolder::Conversation(key.to_string()),
            Holder::User(user) => OwnedHolder::User(user.to_owned()),
        }
    }
}

/// Counts the holder's live rows of one kind, up to `limit`, through the
/// partial index of that kind.
pub(super) fn count_live(
    conn: &Connection,
    live: Live,
    holder: &OwnedHolder,
    limit: usize,
) -> Result<usize, DbError> {
    let (column, value) = match holder {
        OwnedHolder::Conversation(key) => ("owner", key),
        OwnedHolder::User(user) => ("created_by", user),
    };
    let (table, condition) = match live {
        Live::UnfinishedJobs => ("jobs", "status != 'complete'"),
        Live::PendingReminders => ("reminders", "status = 'pending'"),
    };
    let query = format!("SELECT 1 FROM {table} WHERE {column} = ?1 AND {condition} LIMIT ?2");
    let rows: Vec<i64> = query_column(conn, &query, params![value, count(limit)])?;
    Ok(rows.len())
}

pub(super) fn parked_reminders(
    conn: &Connection,
    owner: &str,
    limit: usize,
) -> Result<Vec<Reminder>, DbError> {
    read_reminders(
        conn,
        "SELECT body FROM reminders WHERE owner = ?1 AND status = 'parked'
         ORDER BY next_due, id LIMIT ?2",
        owner,
        limit,
    )
}
