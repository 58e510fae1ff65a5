//! The due index at scale: many stored reminders, few of them due, and a
//! tick that reads only the due ones.
//!
//! Two kinds of evidence, because a fast test on a small table proves
//! nothing about a large one: SQLite's own plan for [`DUE_REMINDERS`] (a
//! search of the partial index `reminders_due`, already in due order, never
//! a scan of the table), and counts of what was read (the rows the tick
//! received, and the virtual machine steps of the due query, which a scan
//! of 100,000 rows would multiply). The timings printed are a benchmark
//! figure for the curious (`-- --nocapture`), not an assertion.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use rusqlite::StatementStatus;

use super::{reminder_row, SqliteStore, DUE_REMINDERS};
use crate::calendar::Recurrence;
use crate::ids::ReminderId;
use crate::queue::embedded::EmbeddedQueue;
use crate::schedule::tick;
use crate::sqlite_db::DbError;
use crate::store::{Reminder, ReminderStatus};

const STORED: usize = 100_000;
/// One in this many stored reminders is due.
const DUE_EVERY: usize = 100;
/// One in this many is a finished reminder, due in the past but done.
const DONE_EVERY: usize = 10;

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).expect("a valid instant")
}

/// A distinct reminder id for `n` (base 31 in the id alphabet; random ids
/// would collide once in a few hundred runs at this size).
fn id(mut n: usize) -> ReminderId {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut id = [b'2'; 8];
    for slot in id.iter_mut().rev() {
        *slot = ALPHABET[n % ALPHABET.len()];
        n /= ALPHABET.len();
    }
    String::from_utf8_lossy(&id)
        .parse()
        .expect("a valid reminder id")
}

/// The `n`th stored reminder: due (in the past) for every `DUE_EVERY`th,
/// done (in the past) for every `DONE_EVERY`th other, else pending within
/// the next year.
fn reminder(n: usize) -> Reminder {
    let offset = SignedDuration::from_secs(i64::try_from(n).expect("small") % 31_000_000);
    let (status, next_due) = if n % DUE_EVERY == 0 {
        (ReminderStatus::Pending, now() - offset)
    } else if n % DONE_EVERY == 1 {
        (ReminderStatus::Done, now() - offset)
    } else {
        (
            ReminderStatus::Pending,
            now() + SignedDuration::from_secs(1) + offset,
        )
    };
    Reminder {
        id: id(n),
        owner: format!("emulator#c{}", n % 5_000)
            .parse()
            .expect("a valid key"),
        text: format!("reminder {n}"),
        recurrence: Recurrence::Once,
        time_zone: "UTC".into(),
        next_due,
        status,
        created_at: now() - SignedDuration::from_hours(1),
        fired: 0,
        last_fired_at: None,
        created_by: None,
    }
}

async fn insert_all(store: &SqliteStore) {
    store
        .db
        .run(|conn| {
            {
                let mut insert = conn.prepare(
                    "INSERT INTO reminders (id, owner, status, next_due, body, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for n in 0..STORED {
                    insert.execute(reminder_row(&reminder(n))?)?;
                }
            }
            Ok(())
        })
        .await
        .expect("bulk insert");
}

/// SQLite's plan for the due query, one line per step.
async fn plan(store: &SqliteStore) -> Vec<String> {
    store
        .db
        .run(|conn| {
            let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {DUE_REMINDERS}"))?;
            let rows = explain.query_map(rusqlite::params![0, 0], |row| row.get::<_, String>(3))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .expect("explain")
}

/// Runs the due query for every due row; returns the rows, the VM steps it
/// took and the steps it spent scanning a table.
async fn due_query_cost(store: &SqliteStore) -> (usize, i32, i32) {
    store
        .db
        .run(|conn| {
            let mut query = conn.prepare(DUE_REMINDERS)?;
            let rows = query
                .query_map(rusqlite::params![now().as_millisecond(), i64::MAX], |_| {
                    Ok(())
                })?
                .count();
            let steps = query.get_status(StatementStatus::VmStep);
            let scanned = query.get_status(StatementStatus::FullscanStep);
            Ok::<_, DbError>((rows, steps, scanned))
        })
        .await
        .expect("due query")
}

#[tokio::test]
async fn a_tick_over_100_000_reminders_reads_only_the_due_ones() {
    let store = SqliteStore::in_memory().expect("store");
    let queue = EmbeddedQueue::in_memory(0).expect("queue");
    let started = Instant::now();
    insert_all(&store).await;
    let inserting = started.elapsed();
    let due = STORED / DUE_EVERY;

    let plan = plan(&store).await;
    assert!(
        plan.iter()
            .any(|step| step.starts_with("SEARCH reminders USING INDEX reminders_due")),
        "the due query searches the due index: {plan:?}"
    );
    assert!(
        !plan
            .iter()
            .any(|step| step.starts_with("SCAN") || step.contains("TEMP B-TREE")),
        "and neither scans nor sorts: {plan:?}"
    );

    let (rows, steps, scanned) = due_query_cost(&store).await;
    assert_eq!(rows, due);
    assert_eq!(scanned, 0, "no table scan");
    let steps_per_due = f64::from(steps) / due as f64;
    assert!(
        steps_per_due < 20.0,
        "{steps} VM steps for {due} due rows: the query reads more than the due rows"
    );

    let started = Instant::now();
    let report = tick(&store, &queue, now()).await.expect("tick");
    let ticking = started.elapsed();
    assert_eq!(
        report.due, due,
        "the tick received exactly the due reminders"
    );
    assert_eq!((report.enqueued, report.advanced), (due, due));
    assert_eq!(queue.depth().await.expect("depth").0, due);
    let again = tick(&store, &queue, now()).await.expect("tick");
    assert_eq!(again.due, 0, "nothing is due after the tick");

    eprintln!(
        "due index: {STORED} reminders stored ({} done), {due} due; \
         bulk insert {inserting:.2?}; due query {steps} VM steps ({steps_per_due:.1} per due row, \
         0 scanned); tick {ticking:.2?} ({:.0} µs per due reminder: read, enqueue, advance)",
        (STORED - due) / DONE_EVERY,
        ticking.as_micros() as f64 / due as f64,
    );
}
