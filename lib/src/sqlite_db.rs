//! The plumbing both embedded adapters share: one SQLite connection, a
//! versioned schema, and a way to use it from async code.
//!
//! [`crate::store::sqlite`] and [`crate::queue::embedded`] each keep their
//! data in a SQLite file of their own, and open it the same way:
//!
//! - **One connection behind a mutex.** The local host is a single process,
//!   so a single writer is all it needs; serialising every call on one
//!   connection also makes each adapter method trivially atomic with respect
//!   to the others in the process. `IMMEDIATE` transactions ([`immediate`])
//!   keep them atomic against another process opening the same file.
//! - **Blocking work off the runtime.** rusqlite is synchronous, and a
//!   `fsync` can take milliseconds; [`Db::run`] moves each call onto tokio's
//!   blocking pool so the async workers never stall on the disk.
//! - **WAL and a busy timeout.** Readers do not block the writer, and a
//!   second process waits for the lock instead of failing at once.
//! - **Migrations counted by `user_version`.** Each adapter lists its schema
//!   as steps; opening applies the steps the file has not seen yet, so a
//!   file written by an older build is upgraded in place, and a file from a
//!   newer build is refused rather than misread.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How long a call waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the embedded database failed. Each adapter maps it onto its port's
/// error type.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not decode: the file was written by something
    /// else, or damaged.
    #[error("{0}")]
    Corrupt(String),
    /// Anything else: the file cannot be created, the schema is from the
    /// future, a blocking task died.
    #[error("{0}")]
    Failed(String),
}

/// Creates the database file (and its directory) readable by this user
/// only, or makes an existing file so: it holds conversation references,
/// service URLs and message texts. New directories are `0700`, the file
/// `0600`; SQLite gives its `-wal` and `-shm` files the database file's
/// mode. An existing directory is left as it is (it may be shared on
/// purpose); the files in it are still private.
fn private_file(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(parent)?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    let file = file.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

/// One step of a schema, run once, in order. Steps are written with
/// `IF NOT EXISTS` as well, so a half-recorded step is safe to run again.
pub(crate) type Migration = &'static str;

/// A SQLite connection shared by the methods of one adapter.
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating it and its parent directories if needed) the file at
    /// `path` and brings its schema up to date.
    pub(crate) fn open(path: &Path, schema: &[Migration]) -> Result<Self, DbError> {
        private_file(path)
            .map_err(|e| DbError::Failed(format!("cannot create {}: {e}", path.display())))?;
        let conn = Connection::open(path)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        Self::prepare(conn, schema)
    }

    /// A private database that lives as long as this value: for tests.
    pub(crate) fn in_memory(schema: &[Migration]) -> Result<Self, DbError> {
        Self::prepare(Connection::open_in_memory()?, schema)
    }

    fn prepare(mut conn: Connection, schema: &[Migration]) -> Result<Self, DbError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        migrate(&mut conn, schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on the connection, on the blocking pool.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call leaves the mutex poisoned, but not the
            // connection: its open transaction was rolled back on unwind.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn)
        })
        .await
        .map_err(|e| DbError::Failed(format!("database task failed: {e}")))?
    }
}

/// Applies the steps of `schema` that the file has not recorded yet.
fn migrate(conn: &mut Connection, schema: &[Migration]) -> Result<(), DbError> {
    let tx = immediate(conn)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied)
        .map_err(|_| DbError::Corrupt(format!("negative schema version {applied}")))?;
    if applied > schema.len() {
        return Err(DbError::Failed(format!(
            "the database has schema version {applied}; this build knows up to {}",
            schema.len()
        )));
    }
    for step in &schema[applied..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", count(schema.len()))?;
    tx.commit()?;
    Ok(())
}

/// Begins a transaction that takes the write lock at once, so two
/// processes never both read and then fail to upgrade to writing.
pub(crate) fn immediate(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// A Rust count as an SQL integer (SQLite integers are signed 64-bit).
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A duration in whole milliseconds, as SQL stores it.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Reads back an instant stored as epoch milliseconds.
pub(crate) fn timestamp(ms: i64) -> Result<Timestamp, DbError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| DbError::Corrupt(format!("bad stored time {ms}: {e}")))
}

/// Encodes a record as the JSON body column.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Failed(format!("cannot encode: {e}")))
}

/// Decodes a JSON body column.
pub(crate) fn decode<T: DeserializeOwned>(body: &str) -> Result<T, DbError> {
    serde_json::from_str(body).map_err(|e| DbError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[Migration] = &[
        "CREATE TABLE IF NOT EXISTS a (x INTEGER);",
        "CREATE TABLE IF NOT EXISTS b (y INTEGER);",
    ];

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn migrating_records_the_version_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &SCHEMA[..1]).unwrap();
        assert_eq!(version(&conn), 1);
        migrate(&mut conn, SCHEMA).unwrap();
        migrate(&mut conn, SCHEMA).unwrap();
        assert_eq!(version(&conn), 2);
        conn.execute("INSERT INTO b (y) VALUES (1)", []).unwrap();
    }

    #[test]
    fn a_schema_from_a_newer_build_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, SCHEMA).unwrap();
        assert!(matches!(
            migrate(&mut conn, &SCHEMA[..1]),
            Err(DbError::Failed(_))
        ));
    }

    #[test]
    fn bad_stored_values_are_corrupt() {
        assert!(matches!(
            decode::<Vec<u32>>("{not json"),
            Err(DbError::Corrupt(_))
        ));
        assert!(matches!(timestamp(i64::MAX), Err(DbError::Corrupt(_))));
    }
}
