//! The plumbing both embedded adapters share: one SQLite connection, a
//! versioned schema, and a way to use it from async code.
//!
//! [`crate::store::sqlite`] and [`crate::queue::embedded`] each keep their
//! data in a SQLite file of their own, and open it the same way:
//!
//! - **One connection, on a thread of its own.** The local host is a single
//!   process, so a single writer is all it needs; running every call on one
//!   connection, one after another, also makes each adapter method
//!   trivially atomic with respect to the others in the process. rusqlite is
//!   synchronous and a commit waits for the disk, so the connection lives
//!   on its own thread and [`Db::run`] hands it the work: the async workers
//!   never stall on the disk.
//! - **Group commit** ([`group_commit`]): the calls that queue up while a
//!   transaction runs are committed together, one disk sync for the lot,
//!   each still atomic on its own and durable when its call returns.
//! - **WAL and a busy timeout.** Readers do not block the writer, and a
//!   second process waits for the lock instead of failing at once.
//! - **Migrations counted by `user_version`.** Each adapter lists its schema
//!   as steps; opening applies the steps the file has not seen yet, so a
//!   file written by an older build is upgraded in place, and a file from a
//!   newer build is refused rather than misread.

mod group_commit;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How long a call waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

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

/// A SQLite connection shared by the methods of one adapter. Dropping the
/// last handle lets its thread finish the calls queued and close it.
pub(crate) struct Db {
    calls: mpsc::Sender<Box<dyn group_commit::Call>>,
    /// Transactions committed so far (each holds one or more calls).
    commits: Arc<AtomicU64>,
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
        // Room for every statement the hot paths keep prepared (rusqlite's
        // default is 16; the store and the queue each use more).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut conn, schema)?;
        let (calls, queued) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&commits);
        std::thread::Builder::new()
            .name("nudge-sqlite".to_owned())
            .spawn(move || group_commit::serve(conn, queued, counted))
            .map_err(|e| DbError::Failed(format!("cannot start the database thread: {e}")))?;
        Ok(Self { calls, commits })
    }

    /// Transactions committed since the database was opened (for tests:
    /// the proof that calls share them).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `work` on the connection's thread, atomically (its writes are
    /// kept only if it returns `Ok`), and returns once they are committed.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let (call, answer) = group_commit::Pending::new(work);
        self.calls
            .send(Box::new(call))
            .map_err(|_| DbError::Failed("the database thread has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| DbError::Failed("the database thread has stopped".to_owned()))?
    }
}

/// Applies the steps of `schema` that the file has not recorded yet.
fn migrate(conn: &mut Connection, schema: &[Migration]) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    /// Inserts `x` into `a`, then fails or panics if told to.
    fn insert<'a>(
        db: &'a Db,
        x: i64,
        then: &'static str,
    ) -> impl std::future::Future<Output = Result<(), DbError>> + 'a {
        db.run(move |conn| {
            conn.execute("INSERT INTO a (x) VALUES (?1)", [x])?;
            match then {
                "wait" => std::thread::sleep(Duration::from_millis(200)),
                "fail" => return Err(DbError::Failed("told to".to_owned())),
                "panic" => panic!("told to"),
                _ => {}
            }
            Ok(())
        })
    }

    async fn stored(db: &Db) -> Vec<i64> {
        db.run(|conn| {
            let mut rows = conn.prepare("SELECT x FROM a ORDER BY x")?;
            let xs = rows.query_map([], |row| row.get(0))?;
            Ok(xs.collect::<Result<Vec<i64>, _>>()?)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn calls_that_wait_commit_together_each_atomic_on_its_own() {
        let db = Db::in_memory(SCHEMA).unwrap();
        // The first call holds the connection while the other four queue
        // up behind it: they run as one group (or join the first's).
        let (first, ok, failed, panicked, last) = tokio::join!(
            insert(&db, 1, "wait"),
            insert(&db, 2, ""),
            insert(&db, 3, "fail"),
            insert(&db, 4, "panic"),
            insert(&db, 5, ""),
        );
        assert!(first.is_ok() && ok.is_ok() && last.is_ok());
        assert!(matches!(failed, Err(DbError::Failed(why)) if why == "told to"));
        assert!(matches!(panicked, Err(DbError::Failed(why)) if why.contains("panicked")));
        assert!(
            db.commits() <= 2,
            "{} transactions for five calls",
            db.commits()
        );
        // The failed and the panicked call left nothing; the thread lives on.
        assert_eq!(stored(&db).await, vec![1, 2, 5]);
    }

    #[tokio::test]
    async fn a_call_returns_once_its_work_is_on_disk() {
        let dir = std::env::temp_dir().join(format!("nudge-db-{}", crate::ids::random_token(8)));
        let path = dir.join("db.sqlite");
        let db = Db::open(&path, SCHEMA).unwrap();
        let calls: Vec<_> = (0..50).map(|x| insert(&db, x, "")).collect();
        for done in futures::future::join_all(calls).await {
            done.unwrap();
        }
        // Another connection (another process, say) sees all of it.
        let other = Connection::open(&path).unwrap();
        let rows: i64 = other
            .query_row("SELECT COUNT(*) FROM a", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 50);
        assert!(
            db.commits() < 50,
            "{} transactions for 50 calls",
            db.commits()
        );
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
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
