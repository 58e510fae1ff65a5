//! The embedded [`Queue`]: SQS semantics on a SQLite file, for the local
//! host.
//!
//! The notifier is written against SQS's rules (see [`crate::queue`]), so
//! this adapter reproduces them rather than offering something simpler: a
//! notifier that works here works in the cloud, and its failure handling
//! (redelivery, dead letters) can be watched on a laptop.
//!
//! Each message is a row with a `visible_at` time (epoch milliseconds).
//! Sending sets it to now plus the delay; receiving picks the visible rows
//! that were received before first (a message back from a delay, such as
//! one held for its rate-limit slot, goes before a flood of fresh ones),
//! then fresh ones, each in `visible_at`, then insertion, order, gives
//! each a fresh random receipt,
//! counts the receive and pushes `visible_at` past the visibility timeout.
//! Deleting and changing visibility go by receipt, so a worker holding an
//! old receipt (the message was received again since) touches nothing.
//!
//! The redrive policy is applied at receive time, as SQS does: a message
//! that is visible again after `max_receive_count` receives moves to the
//! `dead_letters` table instead of being delivered; so does a message the
//! notifier gives up on, with its reason ([`Queue::dead_letter`]). The
//! local host shows those and can [`EmbeddedQueue::redrive`] them.
//!
//! Long polling waits on a [`Notify`] that sends and visibility changes
//! signal, or until the earliest hidden message shows (to the
//! millisecond: the notifier meets rate-limit slots with the queue's
//! delays), and re-checks the table every 100 ms in any case.

use std::path::Path;
use std::pin::pin;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{params, Connection, Row};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{DeadLetter, OutgoingMessage, Queue, QueueError, QueueLimits, ReceivedMessage};
use crate::ids::random_token;
use crate::sqlite_db::{count, millis, timestamp, Db, DbError, Migration};

mod dead_letters;

/// What the embedded queue can do: SQS's body, delay and visibility
/// limits, so that what the local host accepts the cloud hosts accept too,
/// but delays in milliseconds (it keeps `visible_at` in epoch
/// milliseconds).
pub const LIMITS: QueueLimits = QueueLimits {
    delay_resolution: Duration::from_millis(1),
    ..QueueLimits::SQS
};
const MAX_BODY_BYTES: usize = LIMITS.max_body_bytes;
const MAX_DELAY: Duration = LIMITS.max_delay;

/// How often a long poll looks again when nothing has signalled it.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The schema, one step per version (`PRAGMA user_version`). Append new
/// steps; never edit a released one.
const SCHEMA: &[Migration] = &[
    "
    CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt TEXT UNIQUE
    );
    CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (visible_at, seq);

    CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL,
        dead_at INTEGER NOT NULL
    );
",
    dead_letters::MIGRATION,
    // Messages back from a delay are received before fresh ones.
    "CREATE INDEX IF NOT EXISTS messages_returning ON messages (visible_at, seq)
     WHERE receive_count > 0;",
];

/// A [`Queue`] in a SQLite file, with its dead-letter queue beside it.
pub struct EmbeddedQueue {
    db: Db,
    /// Receives after which a message is dead-lettered; 0: never.
    max_receive_count: u32,
    /// Wakes long polls when a message may have become visible.
    arrivals: Notify,
}

impl EmbeddedQueue {
    /// Opens the queue at `path`, creating the file, its directories and
    /// its tables as needed. Messages survive closing and reopening.
    ///
    /// A message received `max_receive_count` times goes to the dead-letter
    /// queue when it next becomes visible; 0 turns dead-lettering off.
    pub fn open(path: &Path, max_receive_count: u32) -> Result<Self, QueueError> {
        Ok(Self::with_db(Db::open(path, SCHEMA)?, max_receive_count))
    }

    /// A queue that lives in memory and dies with this value: for tests.
    pub fn in_memory(max_receive_count: u32) -> Result<Self, QueueError> {
        Ok(Self::with_db(Db::in_memory(SCHEMA)?, max_receive_count))
    }

    fn with_db(db: Db, max_receive_count: u32) -> Self {
        Self {
            db,
            max_receive_count,
            arrivals: Notify::new(),
        }
    }

    /// The oldest `limit` dead letters, in the order they died.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(self
            .db
            .run(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT id, body, sent_at, receive_count, dead_at, reason
                     FROM dead_letters ORDER BY seq LIMIT ?1",
                )?;
                let rows = statement.query_map([count(limit)], DeadRow::read)?;
                rows.map(|row| row?.into_dead_letter()).collect()
            })
            .await?)
    }

    /// Moves every dead letter back onto the queue, visible now and with its
    /// receive count reset. Returns how many moved.
    pub async fn redrive(&self) -> Result<usize, QueueError> {
        self.redrive_dead_letters(usize::MAX).await
    }

    /// How many messages are visible now, and how many are not (received
    /// and not yet deleted, or delayed).
    pub async fn depth(&self) -> Result<(usize, usize), QueueError> {
        let (visible, hidden): (i64, i64) = self
            .db
            .run(|conn| {
                Ok(conn.query_row(
                    "SELECT COALESCE(SUM(visible_at <= ?1), 0), COALESCE(SUM(visible_at > ?1), 0)
                     FROM messages",
                    [now_ms()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?)
            })
            .await?;
        Ok((stored_count(visible)?, stored_count(hidden)?))
    }

    /// One receive attempt, without waiting. With nothing to receive, also
    /// says how long until the next hidden message shows (if any).
    async fn receive_now(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<(Vec<ReceivedMessage>, Option<Duration>), QueueError> {
        let max_receive_count = self.max_receive_count;
        Ok(self
            .db
            .run(move |conn| {
                let now = now_ms();
                if max_receive_count > 0 {
                    dead_letter_exhausted(conn, now, max_receive_count)?;
                }
                let received = take_visible(
                    conn,
                    now,
                    max,
                    millis(visibility.min(LIMITS.max_visibility)),
                )?;
                let next = if received.is_empty() {
                    next_visible(conn, now)?
                } else {
                    None
                };
                Ok((received, next))
            })
            .await?)
    }
}

impl From<DbError> for QueueError {
    fn from(error: DbError) -> Self {
        QueueError::Backend(error.to_string())
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        if let Some(big) = messages.iter().find(|m| m.body.len() > MAX_BODY_BYTES) {
            return Err(QueueError::TooLarge(big.body.len(), MAX_BODY_BYTES));
        }
        if messages.is_empty() {
            return Ok(());
        }
        self.db
            .run(move |conn| {
                let now = now_ms();
                for message in &messages {
                    let delay = millis(message.delay.min(MAX_DELAY));
                    conn.prepare_cached(
                        "INSERT INTO messages (id, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        new_message_id(),
                        message.body,
                        now,
                        now.saturating_add(delay)
                    ])?;
                }
                Ok(())
            })
            .await?;
        self.arrivals.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + wait;
        loop {
            // Registered before looking, so a send that lands between the
            // look and the wait still wakes this poll.
            let mut arrival = pin!(self.arrivals.notified());
            arrival.as_mut().enable();
            let (received, next) = self.receive_now(max, visibility).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if !received.is_empty() || left.is_zero() {
                return Ok(received);
            }
            // Timing out only means "look again": when the next hidden
            // message shows, to the millisecond (a message held back for a
            // rate-limit slot must come back on time), or after the poll
            // interval in any case.
            let nap = next.map_or(POLL_INTERVAL, |next| next.min(POLL_INTERVAL));
            let _ = tokio::time::timeout(left.min(nap), arrival).await;
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.db
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM messages WHERE receipt = ?1")?
                    .execute([receipt])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.db
            .run(move |conn| {
                let visible_at =
                    now_ms().saturating_add(millis(timeout.min(LIMITS.max_visibility)));
                conn.execute(
                    "UPDATE messages SET visible_at = ?2 WHERE receipt = ?1",
                    params![receipt, visible_at],
                )?;
                Ok(())
            })
            .await?;
        self.arrivals.notify_waiters();
        Ok(())
    }

    fn limits(&self) -> QueueLimits {
        LIMITS
    }

    async fn dead_letter(&self, message: &ReceivedMessage, reason: &str) -> Result<(), QueueError> {
        let (receipt, reason) = (message.receipt.clone(), reason.to_owned());
        self.db
            .run(move |conn| dead_letters::bury(conn, &receipt, &reason, now_ms()))
            .await?;
        Ok(())
    }

    async fn redrive_dead_letters(&self, max: usize) -> Result<usize, QueueError> {
        let moved = self
            .db
            .run(move |conn| dead_letters::redrive(conn, max, now_ms()))
            .await?;
        self.arrivals.notify_waiters();
        Ok(moved)
    }
}

/// Moves every visible message that has used up its receives to the
/// dead-letter table. `receive_count > 0` (implied, as the limit is at
/// least one) lets SQLite read only the messages received before, through
/// their partial index, instead of every visible one: this runs on each
/// receive, and a backlog of fresh messages made it the notifier's largest
/// cost.
fn dead_letter_exhausted(
    conn: &Connection,
    now: i64,
    max_receive_count: u32,
) -> Result<(), DbError> {
    let exhausted = params![now, max_receive_count];
    conn.prepare_cached(
        "INSERT INTO dead_letters (id, body, sent_at, receive_count, dead_at)
         SELECT id, body, sent_at, receive_count, ?1 FROM messages
         WHERE visible_at <= ?1 AND receive_count >= ?2 AND receive_count > 0
         ORDER BY visible_at, seq",
    )?
    .execute(exhausted)?;
    conn.prepare_cached(
        "DELETE FROM messages
         WHERE visible_at <= ?1 AND receive_count >= ?2 AND receive_count > 0",
    )?
    .execute(exhausted)?;
    Ok(())
}

/// How long from `now` until the earliest hidden message shows.
fn next_visible(conn: &Connection, now: i64) -> Result<Option<Duration>, DbError> {
    let mut select = conn.prepare_cached("SELECT MIN(visible_at) FROM messages")?;
    let next: Option<i64> = select.query_row([], |row| row.get(0))?;
    Ok(next.map(|at| Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0))))
}

/// Receives up to `max` visible messages: a new receipt each, one more
/// receive counted, hidden for `visibility_ms`. Messages received before
/// (back from a delay: held for a rate-limit slot, or a retry) go first,
/// then fresh ones; each kind in `visible_at`, then insertion, order.
fn take_visible(
    conn: &Connection,
    now: i64,
    max: usize,
    visibility_ms: i64,
) -> Result<Vec<ReceivedMessage>, DbError> {
    let mut returning = conn.prepare_cached(
        "SELECT seq, id, body, sent_at, receive_count FROM messages
         WHERE visible_at <= ?1 AND receive_count > 0 ORDER BY visible_at, seq LIMIT ?2",
    )?;
    let mut fresh = conn.prepare_cached(
        "SELECT seq, id, body, sent_at, receive_count FROM messages
         WHERE visible_at <= ?1 AND receive_count = 0 ORDER BY visible_at, seq LIMIT ?2",
    )?;
    let read = |row: &Row| Ok((row.get::<_, i64>(0)?, VisibleRow::read(row)?));
    let mut picked = returning
        .query_map(params![now, count(max)], read)?
        .collect::<Result<Vec<_>, _>>()?;
    if picked.len() < max {
        picked.extend(
            fresh
                .query_map(params![now, count(max - picked.len())], read)?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let mut update = conn.prepare_cached(
        "UPDATE messages SET receipt = ?2, receive_count = ?3, visible_at = ?4 WHERE seq = ?1",
    )?;
    picked
        .into_iter()
        .map(|(seq, row)| {
            let receipt = random_token(32);
            let receive_count = row.receive_count.saturating_add(1);
            update.execute(params![
                seq,
                receipt,
                receive_count,
                now.saturating_add(visibility_ms)
            ])?;
            Ok(ReceivedMessage {
                message_id: row.id,
                receipt,
                body: row.body,
                receive_count: stored_count(receive_count)?,
                sent_at: timestamp(row.sent_at)?,
            })
        })
        .collect()
}

/// The columns of a message a receive hands out.
struct VisibleRow {
    id: String,
    body: String,
    sent_at: i64,
    receive_count: i64,
}

impl VisibleRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            body: row.get("body")?,
            sent_at: row.get("sent_at")?,
            receive_count: row.get("receive_count")?,
        })
    }
}

/// A `dead_letters` row as read.
struct DeadRow {
    message: VisibleRow,
    dead_at: i64,
    reason: Option<String>,
}

impl DeadRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            message: VisibleRow::read(row)?,
            dead_at: row.get("dead_at")?,
            reason: row.get("reason")?,
        })
    }

    fn into_dead_letter(self) -> Result<DeadLetter, DbError> {
        Ok(DeadLetter {
            message_id: self.message.id,
            body: self.message.body,
            receive_count: stored_count(self.message.receive_count)?,
            sent_at: timestamp(self.message.sent_at)?,
            dead_at: timestamp(self.dead_at)?,
            reason: self.reason,
        })
    }
}

/// A count read from SQL, which is never negative unless the file is bad.
fn stored_count<T: TryFrom<i64>>(n: i64) -> Result<T, DbError> {
    T::try_from(n).map_err(|_| DbError::Corrupt(format!("bad stored count {n}")))
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn new_message_id() -> String {
    format!("m-{}", random_token(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str, delay: Duration) -> OutgoingMessage {
        OutgoingMessage {
            body: body.to_owned(),
            delay,
        }
    }

    async fn visible_in_ms(queue: &EmbeddedQueue) -> Vec<i64> {
        queue
            .db
            .run(|conn| {
                let mut statement = conn.prepare("SELECT visible_at - sent_at FROM messages")?;
                let rows = statement.query_map([], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn delays_are_capped_at_the_maximum() {
        let queue = EmbeddedQueue::in_memory(3).unwrap();
        let day = Duration::from_secs(86_400);
        queue.send(vec![message("later", day)]).await.unwrap();
        assert_eq!(visible_in_ms(&queue).await, [millis(MAX_DELAY)]);
    }

    #[tokio::test]
    async fn a_batch_with_one_oversized_body_sends_nothing() {
        let queue = EmbeddedQueue::in_memory(3).unwrap();
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let result = queue
            .send(vec![
                message("small", Duration::ZERO),
                message(&big, Duration::ZERO),
            ])
            .await;
        assert!(matches!(
            result,
            Err(QueueError::TooLarge(n, MAX_BODY_BYTES)) if n == MAX_BODY_BYTES + 1
        ));
        assert_eq!(queue.depth().await.unwrap(), (0, 0));
        let largest = "x".repeat(MAX_BODY_BYTES);
        queue
            .send(vec![message(&largest, Duration::ZERO)])
            .await
            .unwrap();
        assert_eq!(queue.depth().await.unwrap(), (1, 0));
    }

    #[tokio::test]
    async fn zero_max_receive_count_never_dead_letters() {
        let queue = EmbeddedQueue::in_memory(0).unwrap();
        queue
            .send(vec![message("forever", Duration::ZERO)])
            .await
            .unwrap();
        for round in 1..=5 {
            let got = queue
                .receive(1, Duration::ZERO, Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(got.len(), 1, "round {round}");
            assert_eq!(got[0].receive_count, round);
        }
        assert!(queue.dead_letters(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stale_receipt_neither_deletes_nor_reveals() {
        let queue = EmbeddedQueue::in_memory(3).unwrap();
        queue
            .send(vec![message("m", Duration::ZERO)])
            .await
            .unwrap();
        let hidden = Duration::from_secs(60);
        let first = queue
            .receive(1, Duration::ZERO, Duration::ZERO)
            .await
            .unwrap();
        let second = queue.receive(1, hidden, Duration::ZERO).await.unwrap();
        assert_eq!(second[0].message_id, first[0].message_id);
        queue.delete(&first[0].receipt).await.unwrap();
        queue
            .change_visibility(&first[0].receipt, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(
            queue.depth().await.unwrap(),
            (0, 1),
            "still there, still hidden"
        );
        queue.delete(&second[0].receipt).await.unwrap();
        assert_eq!(queue.depth().await.unwrap(), (0, 0));
    }

    #[tokio::test]
    async fn receive_with_max_zero_returns_at_once() {
        let queue = EmbeddedQueue::in_memory(3).unwrap();
        queue
            .send(vec![message("m", Duration::ZERO)])
            .await
            .unwrap();
        let got = queue
            .receive(0, Duration::from_secs(30), Duration::from_secs(30))
            .await
            .unwrap();
        assert!(got.is_empty());
        assert_eq!(queue.depth().await.unwrap(), (1, 0));
    }
}
