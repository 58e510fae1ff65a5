//! Group commit: one thread owns the connection, and the calls that queue
//! up while it works are run as one transaction and committed together.
//!
//! Why: in WAL mode with SQLite's default `synchronous=FULL`, every commit
//! waits for the disk (a sync of the log). The notifier makes three or four
//! small writes per delivery (claim, outcome, queue settle), so one commit
//! per call capped the local host at about a thousand deliveries a second
//! however fast the channel, and `synchronous=NORMAL` would have bought the
//! speed with the claims' durability. Committing every call that waits in
//! one transaction pays one sync for the lot.
//!
//! What a caller sees is unchanged:
//! - **Durable on return.** A call returns only after the transaction that
//!   holds its work has committed, so a delivery's claim is on disk before
//!   its send and its outcome before its queue message is deleted, exactly
//!   as with a transaction of its own: the window of doubt is still the
//!   sends in flight, no wider.
//! - **Atomic on its own.** Each call runs inside a savepoint of its own: an
//!   error (or a panic) rolls back that call's work and nothing else. A
//!   commit that fails fails every call of its group; none of them is kept.
//! - **In order.** Calls run one after another in the order they arrived,
//!   each seeing everything before it.
//!
//! The group's transaction is `IMMEDIATE`: it takes the write lock at
//! once, so another process on the same file (a `nudge` operator command
//! next to a running host) waits for it instead of failing to upgrade a
//! read to a write.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::DbError;

/// The most calls committed as one group: a bound on how long one
/// transaction holds the write lock.
const MOST_PER_GROUP: usize = 256;

/// One queued call: run it, then answer it once its group's fate is known.
pub(super) trait Call: Send {
    /// Runs the call's work inside its own savepoint, keeping the result.
    fn run(&mut self, conn: &mut Connection);
    /// Answers the caller: its result if the group committed, else why not.
    fn answer(self: Box<Self>, group: Result<(), &str>);
}

/// A call whose result, of type `T`, goes back through a oneshot channel.
pub(super) struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T, DbError>>,
    reply: oneshot::Sender<Result<T, DbError>>,
}

impl<T, F> Pending<T, F> {
    pub(super) fn new(work: F) -> (Self, oneshot::Receiver<Result<T, DbError>>) {
        let (reply, answer) = oneshot::channel();
        let call = Pending {
            work: Some(work),
            result: None,
            reply,
        };
        (call, answer)
    }
}

impl<T, F> Call for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut Connection) -> Result<T, DbError> + Send,
{
    fn run(&mut self, conn: &mut Connection) {
        if let Some(work) = self.work.take() {
            self.result = Some(in_savepoint(conn, work));
        }
    }

    fn answer(self: Box<Self>, group: Result<(), &str>) {
        let result = match (group, self.result) {
            (Err(why), _) => Err(DbError::Failed(why.to_owned())),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(DbError::Failed("the call was never run".to_owned())),
        };
        // The caller may have gone (its future was dropped): nothing to do.
        let _ = self.reply.send(result);
    }
}

/// Runs `work` so that its writes are kept only if it succeeds.
fn in_savepoint<T>(
    conn: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    conn.execute_batch("SAVEPOINT call")?;
    // A panic unwinds out of `work` with its own nested savepoints rolled
    // back by their destructors; this call's savepoint is rolled back below.
    let result = catch_unwind(AssertUnwindSafe(|| work(&mut *conn))).unwrap_or_else(|_| {
        Err(DbError::Failed(
            "a database call panicked; its work was rolled back".to_owned(),
        ))
    });
    let end = if result.is_ok() {
        "RELEASE call"
    } else {
        "ROLLBACK TO call; RELEASE call"
    };
    conn.execute_batch(end)?;
    result
}

/// The connection's thread: takes the calls as they come, in groups, until
/// every sender is gone, then closes the connection. Counts the groups
/// committed in `commits`.
pub(super) fn serve(
    mut conn: Connection,
    calls: mpsc::Receiver<Box<dyn Call>>,
    commits: Arc<AtomicU64>,
) {
    while let Ok(first) = calls.recv() {
        let mut group = vec![first];
        while group.len() < MOST_PER_GROUP {
            match calls.try_recv() {
                Ok(call) => group.push(call),
                Err(_) => break,
            }
        }
        if run_group(&mut conn, group) {
            commits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs one group as a transaction; true if it committed.
fn run_group(conn: &mut Connection, mut group: Vec<Box<dyn Call>>) -> bool {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        let why = format!("cannot begin a transaction: {error}");
        group.into_iter().for_each(|call| call.answer(Err(&why)));
        return false;
    }
    for call in &mut group {
        call.run(conn);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            group.into_iter().for_each(|call| call.answer(Ok(())));
            true
        }
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            let why = format!("the transaction did not commit: {error}");
            group.into_iter().for_each(|call| call.answer(Err(&why)));
            false
        }
    }
}
