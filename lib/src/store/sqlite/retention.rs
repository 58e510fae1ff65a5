//! Records past their retention: the maintenance tick
//! ([`crate::schedule::maintain`]) deletes them a bounded number at a time,
//! through an index on the time each expires by, so the store holds about a
//! retention's worth (DynamoDB does the same with its TTL): delivery
//! records by their last update, finished jobs by when they finished,
//! accepted notifications by when they were accepted, idempotency keys
//! and remembered signatures by their own expiry.

use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::sqlite_db::{count, DbError};
use crate::store::{Cutoffs, Purged};

/// The schema step that adds the index the delivery purge reads.
pub(super) const MIGRATION: &str = "
    CREATE INDEX IF NOT EXISTS deliveries_by_update ON deliveries (updated_at);
";

/// The schema step that lets finished jobs and accepted notifications
/// expire. Jobs finished before it count from their creation.
pub(super) const FINISHED_MIGRATION: &str = "
    ALTER TABLE jobs ADD COLUMN finished_at INTEGER;
    UPDATE jobs SET finished_at = created_at WHERE status = 'complete';
    CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at)
        WHERE finished_at IS NOT NULL;
    CREATE INDEX IF NOT EXISTS accepted_by_age ON accepted (accepted_at);
";

pub(super) fn purge_expired(
    conn: &mut Connection,
    cutoffs: &Cutoffs,
    limit: usize,
) -> Result<Purged, DbError> {
    let ms = |at: Timestamp| at.as_millisecond();
    let limit = count(limit);
    let purge = |sql: &str, before: i64| conn.execute(sql, params![before, limit]);
    Ok(Purged {
        deliveries: purge(
            "DELETE FROM deliveries WHERE id IN
             (SELECT id FROM deliveries WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
            ms(cutoffs.deliveries),
        )?,
        finished_jobs: purge(
            "DELETE FROM jobs WHERE id IN
             (SELECT id FROM jobs WHERE finished_at < ?1 ORDER BY finished_at LIMIT ?2)",
            ms(cutoffs.finished_jobs),
        )?,
        accepted: purge(
            "DELETE FROM accepted WHERE id IN
             (SELECT id FROM accepted WHERE accepted_at < ?1 ORDER BY accepted_at LIMIT ?2)",
            ms(cutoffs.accepted),
        )?,
        expired_keys: purge(
            "DELETE FROM idempotency WHERE key IN
             (SELECT key FROM idempotency WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            ms(cutoffs.now),
        )? + purge(
            "DELETE FROM signatures WHERE digest IN
             (SELECT digest FROM signatures WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            ms(cutoffs.now),
        )?,
    })
}
