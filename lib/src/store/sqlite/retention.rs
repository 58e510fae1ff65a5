//! Delivery records expire: the local host's ticker deletes those whose
//! last update is older than the retention (`NUDGE_DELIVERY_RETENTION_DAYS`),
//! a bounded number per tick, through an index on the update time, so the
//! store holds about a retention's worth of deliveries. (DynamoDB does the
//! same with its TTL.)

use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::sqlite_db::{count, DbError};

/// The schema step that adds the index the purge reads.
pub(super) const MIGRATION: &str = "
    CREATE INDEX IF NOT EXISTS deliveries_by_update ON deliveries (updated_at);
";

pub(super) fn purge_deliveries(
    conn: &mut Connection,
    updated_before: Timestamp,
    limit: usize,
) -> Result<usize, DbError> {
    Ok(conn.execute(
        "DELETE FROM deliveries WHERE id IN
         (SELECT id FROM deliveries WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
        params![updated_before.as_millisecond(), count(limit)],
    )?)
}
