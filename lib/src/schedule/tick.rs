//! The tick: fire what is due, then move it on.
//!
//! See the [module docs](super) for why the order (enqueue, then advance)
//! and the per-occurrence notification id make a crashed or doubled tick
//! harmless.

use futures::future::join_all;
use jiff::Timestamp;

use crate::activity::Activity;
use crate::calendar::Zone;
use crate::ids::NotificationId;
use crate::notification::{enqueue, Notification, Operation, Reason, Target};
use crate::queue::{Queue, QueueError};
use crate::store::{Reminder, ReminderStatus, Store, StoreError};

/// Due reminders read, enqueued and advanced at a time.
pub const PAGE: usize = 100;

/// Conditional advances in flight at once (round trips, on a cloud store).
const ADVANCES_AT_ONCE: usize = 16;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Due reminders the store returned (all of them were due).
    pub due: usize,
    /// Notifications put on the queue, one per due occurrence.
    pub enqueued: usize,
    /// Reminders this tick moved on (rescheduled, or done).
    pub advanced: usize,
    /// Reminders another tick or a cancel moved first: their notification
    /// was enqueued twice, and the delivery record drops the second.
    pub lost_races: usize,
    /// Advances that failed; they stay due and are retried next tick.
    pub failed: usize,
    /// Due reminders of conversations closed to the bot (blocked,
    /// uninstalled), parked instead of fired until the conversation writes
    /// again.
    pub parked: usize,
}

/// Why a tick stopped early. Whatever it enqueued without advancing is
/// enqueued again by the next tick, under the same ids.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Fires every reminder due at `now`: one notification per due occurrence
/// to its owner conversation, then a conditional advance to its next
/// occurrence (or to `Done`). Reads only due reminders, a page at a time,
/// until none are left.
#[tracing::instrument(skip_all, fields(%now))]
pub async fn tick(
    store: &dyn Store,
    queue: &dyn Queue,
    now: Timestamp,
) -> Result<TickReport, TickError> {
    let mut report = TickReport::default();
    loop {
        let page = store.due_reminders(now, PAGE).await?;
        if page.is_empty() {
            break;
        }
        report.due += page.len();
        let (page, closed) = split_closed(store, page).await?;
        for reminder in &closed {
            let parked = Reminder {
                status: ReminderStatus::Parked,
                ..reminder.clone()
            };
            if store.advance_reminder(reminder.next_due, &parked).await? {
                report.parked += 1;
            }
        }
        let notifications: Vec<Notification> = page.iter().map(occurrence).collect();
        enqueue(queue, &notifications).await?;
        report.enqueued += notifications.len();

        let before = report.advanced + report.parked;
        for chunk in page.chunks(ADVANCES_AT_ONCE) {
            let outcomes = join_all(chunk.iter().map(|r| advance(store, r, now))).await;
            for (reminder, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    Ok(true) => report.advanced += 1,
                    Ok(false) => report.lost_races += 1,
                    Err(error) => {
                        tracing::error!(reminder = %reminder.id, %error, "could not advance a fired reminder; it fires again next tick");
                        report.failed += 1;
                    }
                }
            }
        }
        // A short page was the last one; a page where nothing moved would
        // come back unchanged.
        if page.len() + closed.len() < PAGE || report.advanced + report.parked == before {
            break;
        }
    }
    if report.due > 0 {
        tracing::info!(?report, "reminders fired");
    }
    Ok(report)
}

/// Splits due reminders into those whose conversation is open to the bot
/// and those whose conversation is closed (inactive: blocked, uninstalled,
/// gone), reading each owner's reference once. A reminder whose reference
/// is missing is fired: the delivery records why it could not be sent.
async fn split_closed(
    store: &dyn Store,
    page: Vec<Reminder>,
) -> Result<(Vec<Reminder>, Vec<Reminder>), StoreError> {
    let mut closed_owners = std::collections::HashMap::new();
    for reminder in &page {
        if !closed_owners.contains_key(&reminder.owner) {
            let reference = store.get_reference(&reminder.owner).await?;
            let closed = reference.is_some_and(|r| !r.active);
            closed_owners.insert(reminder.owner.clone(), closed);
        }
    }
    Ok(page
        .into_iter()
        .partition(|r| !closed_owners.get(&r.owner).copied().unwrap_or(false)))
}

/// The notification for the occurrence of `reminder` that is due: its id
/// is the same however many ticks see this occurrence.
pub fn occurrence(reminder: &Reminder) -> Notification {
    Notification {
        id: NotificationId::from_reminder(&reminder.id, reminder.next_due),
        target: Target::Conversation {
            key: reminder.owner.clone(),
        },
        activity: Activity::message(reminder_fired(&reminder.text)),
        reason: Reason::Reminder {
            reminder_id: reminder.id.clone(),
        },
        not_before: None,
        operation: Operation::Send,
    }
}

/// Moves `reminder` past the occurrence that fired, if no one else has.
async fn advance(
    store: &dyn Store,
    reminder: &Reminder,
    now: Timestamp,
) -> Result<bool, StoreError> {
    store
        .advance_reminder(reminder.next_due, &advanced(reminder, now))
        .await
}

/// `reminder` after its due occurrence fired at `now`: at its first
/// occurrence after `now`, or done.
fn advanced(reminder: &Reminder, now: Timestamp) -> Reminder {
    let zone = Zone::parse(&reminder.time_zone).unwrap_or_else(|error| {
        tracing::warn!(reminder = %reminder.id, %error, "stored time zone unknown; using UTC");
        Zone::utc()
    });
    let mut next = reminder.clone();
    next.fired = next.fired.saturating_add(1);
    next.last_fired_at = Some(now);
    match reminder
        .recurrence
        .next_after(reminder.next_due, now, &zone)
    {
        Some(due) => next.next_due = due,
        None => next.status = ReminderStatus::Done,
    }
    next
}

/// What arrives when a reminder falls due.
pub fn reminder_fired(text: &str) -> String {
    format!("Reminder: {text}")
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::calendar::Recurrence;
    use crate::queue::embedded::EmbeddedQueue;
    use crate::store::prelude::*;
    use crate::store::sqlite::SqliteStore;
    use std::time::Duration;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn reminder(recurrence: Recurrence, due: &str) -> Reminder {
        Reminder {
            id: crate::ids::ReminderId::generate(),
            owner: "emulator#c1".parse().unwrap(),
            text: "stretch".into(),
            recurrence,
            time_zone: "UTC".into(),
            next_due: ts(due),
            status: ReminderStatus::Pending,
            created_at: ts("2026-11-21T09:00:00Z"),
            fired: 0,
            last_fired_at: None,
            created_by: None,
        }
    }

    struct Fixture {
        store: SqliteStore,
        queue: EmbeddedQueue,
    }

    impl Fixture {
        async fn with(reminders: &[Reminder]) -> Fixture {
            let store = SqliteStore::in_memory().unwrap();
            for r in reminders {
                store.insert_reminder(r).await.unwrap();
            }
            Fixture {
                store,
                queue: EmbeddedQueue::in_memory(0).unwrap(),
            }
        }

        async fn tick(&self, now: &str) -> TickReport {
            tick(&self.store, &self.queue, ts(now)).await.unwrap()
        }

        /// The notifications on the queue, taken off it.
        async fn drain(&self) -> Vec<Notification> {
            let messages = self
                .queue
                .receive(1000, Duration::from_secs(60), Duration::ZERO)
                .await
                .unwrap();
            messages
                .iter()
                .map(|m| serde_json::from_str(&m.body).unwrap())
                .collect()
        }

        async fn get(&self, r: &Reminder) -> Reminder {
            self.store.get_reminder(&r.id).await.unwrap().unwrap()
        }
    }

    #[tokio::test]
    async fn a_due_one_shot_reminder_is_enqueued_once_and_kept_as_done() {
        let once = reminder(Recurrence::Once, "2026-11-21T10:00:00Z");
        let later = reminder(Recurrence::Once, "2026-11-21T10:00:01Z");
        let f = Fixture::with(&[once.clone(), later.clone()]).await;

        let report = f.tick("2026-11-21T10:00:00Z").await;
        assert_eq!((report.due, report.enqueued, report.advanced), (1, 1, 1));
        let sent = f.drain().await;
        assert_eq!(sent, [occurrence(&once)]);
        assert_eq!(
            sent[0].id.as_str(),
            format!("rem-{}-{}", once.id, once.next_due.as_second())
        );
        assert_eq!(sent[0].activity.text.as_deref(), Some("Reminder: stretch"));
        assert_eq!(
            sent[0].target,
            Target::Conversation {
                key: once.owner.clone()
            }
        );

        let done = f.get(&once).await;
        assert_eq!(done.status, ReminderStatus::Done);
        assert_eq!(
            (done.fired, done.last_fired_at),
            (1, Some(ts("2026-11-21T10:00:00Z")))
        );
        assert_eq!(
            done.next_due, once.next_due,
            "the log keeps when it was due"
        );
        assert_eq!(
            f.get(&later).await.status,
            ReminderStatus::Pending,
            "not due yet"
        );

        assert_eq!(f.tick("2026-11-21T10:00:00Z").await, TickReport::default());
        assert!(f.drain().await.is_empty(), "a second tick fires nothing");
    }

    #[tokio::test]
    async fn a_recurring_reminder_missed_many_times_fires_once_and_skips_ahead() {
        let quarter = reminder(
            Recurrence::Interval { seconds: 900 },
            "2026-11-21T10:00:00Z",
        );
        let f = Fixture::with(std::slice::from_ref(&quarter)).await;
        let report = f.tick("2026-11-21T13:07:00Z").await;
        assert_eq!((report.due, report.advanced), (1, 1));
        assert_eq!(
            f.drain().await,
            [occurrence(&quarter)],
            "one message for the whole outage"
        );
        let next = f.get(&quarter).await;
        assert_eq!(next.status, ReminderStatus::Pending);
        assert_eq!(next.next_due, ts("2026-11-21T13:15:00Z"));
        assert_eq!(next.fired, 1);

        f.tick("2026-11-21T13:15:00Z").await;
        let second = f.drain().await;
        assert_eq!(second, [occurrence(&next)]);
        assert_ne!(
            second[0].id,
            occurrence(&quarter).id,
            "each occurrence has its own id"
        );
    }

    #[tokio::test]
    async fn a_tick_that_died_before_advancing_is_redone_under_the_same_ids() {
        let r = reminder(
            Recurrence::Daily {
                at: jiff::civil::time(9, 0, 0, 0),
            },
            "2026-11-21T09:00:00Z",
        );
        let f = Fixture::with(std::slice::from_ref(&r)).await;
        // What a tick that crashed after enqueueing left behind.
        enqueue(&f.queue, &[occurrence(&r)]).await.unwrap();
        f.tick("2026-11-21T09:00:05Z").await;
        let sent = f.drain().await;
        assert_eq!(sent.len(), 2);
        assert_eq!(
            sent[0].id, sent[1].id,
            "the delivery record keeps one of them"
        );
        assert_eq!(f.get(&r).await.next_due, ts("2026-11-22T09:00:00Z"));
    }

    #[tokio::test]
    async fn many_due_reminders_are_read_in_pages_until_none_are_left() {
        let due: Vec<Reminder> = (0..PAGE * 2 + 7)
            .map(|_| reminder(Recurrence::Once, "2026-11-21T10:00:00Z"))
            .collect();
        let f = Fixture::with(&due).await;
        let report = f.tick("2026-11-21T10:00:00Z").await;
        assert_eq!(
            (report.due, report.enqueued, report.advanced),
            (due.len(), due.len(), due.len())
        );
        assert_eq!(f.drain().await.len(), due.len());
    }

    #[tokio::test]
    async fn a_reminder_with_an_unknown_stored_zone_still_moves_on() {
        let mut r = reminder(
            Recurrence::Daily {
                at: jiff::civil::time(9, 0, 0, 0),
            },
            "2026-11-21T09:00:00Z",
        );
        r.time_zone = "Gone/Away".into();
        let f = Fixture::with(std::slice::from_ref(&r)).await;
        assert_eq!(f.tick("2026-11-21T09:00:00Z").await.advanced, 1);
        assert_eq!(
            f.get(&r).await.next_due,
            ts("2026-11-22T09:00:00Z"),
            "by UTC"
        );
    }
}
