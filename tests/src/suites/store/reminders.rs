//! The reminder methods of the [`Store`] suite.
//!
//! `due_reminders` answers for the whole store, so on a shared table it
//! also returns what other checks and other runs left due. The checks keep
//! out of each other's way:
//! - reminders that must never be due sit more than a year after the real
//!   clock, beyond any `now` a check passes;
//! - [`due_reminders_by_due_time`] places its reminders minutes before the
//!   real clock (where an adapter's due index must find them, however it
//!   buckets time), reads the answer only for its own conversations, and
//!   cancels what it left pending, so no later run sees it due.
//!
//! Due times are whole seconds, as the reminder logic makes them.

use jiff::{SignedDuration, Timestamp};
use nudge::calendar::Recurrence;
use nudge::ids::{ConversationKey, ReminderId};
use nudge::store::{Reminder, ReminderStatus, Store, StoreError};

use super::Scope;

/// A reminder can be stored and read back exactly once per id.
pub async fn reminders_insert_and_get(store: &dyn Store) {
    let scope = Scope::new("rem-insert");
    let later = later();
    let unknown = ReminderId::generate();
    assert_eq!(
        store.get_reminder(&unknown).await.expect("get_reminder"),
        None,
        "an unknown reminder id reads as None"
    );
    let mut reminder = pending(&scope.key(1), later(0), weekly());
    reminder.fired = 3;
    reminder.last_fired_at = Some(later(-60));
    reminder.time_zone = "America/New_York".into();
    store
        .insert_reminder(&reminder)
        .await
        .expect("insert_reminder");
    assert_eq!(
        store
            .get_reminder(&reminder.id)
            .await
            .expect("get_reminder"),
        Some(reminder.clone()),
        "a reminder reads back exactly, recurrence and counters included"
    );

    let impostor = Reminder {
        text: "impostor".into(),
        owner: scope.key(2),
        ..reminder.clone()
    };
    assert!(
        matches!(
            store.insert_reminder(&impostor).await,
            Err(StoreError::Conflict)
        ),
        "inserting a taken reminder id is a conflict"
    );
    assert_eq!(
        store
            .get_reminder(&reminder.id)
            .await
            .expect("get_reminder"),
        Some(reminder),
        "a conflicting insert leaves the reminder as it was"
    );
}

/// `list_reminders` gives one conversation's pending reminders, soonest
/// first, at most `limit`; done and cancelled ones are not listed.
pub async fn reminders_list_by_owner(store: &dyn Store) {
    let scope = Scope::new("rem-list");
    let later = later();
    let (owner, other) = (scope.key(1), scope.key(2));
    let mine: Vec<Reminder> = [30, 10, 20]
        .map(|s| pending(&owner, later(s), Recurrence::Once))
        .into();
    let done = Reminder {
        status: ReminderStatus::Done,
        ..pending(&owner, later(5), Recurrence::Once)
    };
    let cancelled = Reminder {
        status: ReminderStatus::Cancelled,
        ..pending(&owner, later(6), Recurrence::Once)
    };
    let theirs = pending(&other, later(1), Recurrence::Once);
    for reminder in mine.iter().chain([&done, &cancelled, &theirs]) {
        store
            .insert_reminder(reminder)
            .await
            .expect("insert_reminder");
    }
    let soonest_first = [&mine[1], &mine[2], &mine[0]].map(Clone::clone);
    assert_eq!(
        store.list_reminders(&owner, 10).await.expect("list"),
        soonest_first,
        "pending reminders of the conversation only, soonest first"
    );
    assert_eq!(
        store.list_reminders(&owner, 2).await.expect("list"),
        soonest_first[..2],
        "at most `limit`"
    );
    assert_eq!(
        store.list_reminders(&other, 10).await.expect("list"),
        [theirs]
    );
    assert!(
        store
            .list_reminders(&scope.key(3), 10)
            .await
            .expect("list")
            .is_empty(),
        "a conversation without reminders lists none"
    );
}

/// `due_reminders` gives pending reminders due at or before `now`, soonest
/// first, at most `limit`; not the ones due later, nor done or cancelled.
pub async fn due_reminders_by_due_time(store: &dyn Store) {
    let scope = Scope::new("rem-due");
    let owner = scope.key(1);
    let now = whole_seconds(Timestamp::now() - SignedDuration::from_mins(10));
    let at = |secs: i64| now + SignedDuration::from_secs(secs);
    let due: Vec<Reminder> = [-120, -180, 0]
        .map(|s| pending(&owner, at(s), Recurrence::Once))
        .into();
    let not_due = [1, 3600].map(|s| pending(&owner, at(s), Recurrence::Once));
    let finished = [ReminderStatus::Done, ReminderStatus::Cancelled].map(|status| Reminder {
        status,
        ..pending(&owner, at(-300), Recurrence::Once)
    });
    for reminder in due.iter().chain(&not_due).chain(&finished) {
        store
            .insert_reminder(reminder)
            .await
            .expect("insert_reminder");
    }

    let answer = store.due_reminders(now, 1000).await.expect("due_reminders");
    assert!(
        answer
            .iter()
            .all(|r| r.next_due <= now && r.status == ReminderStatus::Pending),
        "only pending reminders due at or before `now`"
    );
    assert!(
        answer.windows(2).all(|w| w[0].next_due <= w[1].next_due),
        "soonest first"
    );
    let ours = |reminders: &[Reminder]| -> Vec<ReminderId> {
        reminders
            .iter()
            .filter(|r| scope.owns(&r.owner))
            .map(|r| r.id.clone())
            .collect()
    };
    assert_eq!(
        ours(&answer),
        [&due[1], &due[0], &due[2]].map(|r| r.id.clone()),
        "the due ones, soonest first, one due exactly at `now` included"
    );

    let two = store.due_reminders(now, 2).await.expect("due_reminders");
    assert_eq!(two.len(), 2, "at most `limit`, and as many as are due");
    assert!(
        two.iter().all(|r| r.next_due <= due[0].next_due),
        "the soonest ones"
    );

    let moved = Reminder {
        next_due: at(86_400),
        ..due[1].clone()
    };
    assert!(store
        .advance_reminder(due[1].next_due, &moved)
        .await
        .expect("advance_reminder"));
    let answer = store.due_reminders(now, 1000).await.expect("due_reminders");
    assert_eq!(
        ours(&answer),
        [&due[0], &due[2]].map(|r| r.id.clone()),
        "an advanced reminder is no longer due"
    );

    // Everything still pending falls due in real time soon: cancel it.
    for reminder in [&due[0], &due[2], &moved].into_iter().chain(&not_due) {
        let cancelled = Reminder {
            status: ReminderStatus::Cancelled,
            ..reminder.clone()
        };
        store
            .advance_reminder(reminder.next_due, &cancelled)
            .await
            .expect("clean up");
    }
}

/// `advance_reminder` replaces a reminder only while it is pending and due
/// at the expected time, and says whether it did.
pub async fn reminder_advances_are_conditional(store: &dyn Store) {
    let scope = Scope::new("rem-advance");
    let later = later();
    let owner = scope.key(1);
    let first = pending(&owner, later(0), Recurrence::Interval { seconds: 900 });
    store
        .insert_reminder(&first)
        .await
        .expect("insert_reminder");
    let get = async |id: &ReminderId| store.get_reminder(id).await.expect("get_reminder");
    let advance = async |expected_due: Timestamp, updated: &Reminder| {
        store
            .advance_reminder(expected_due, updated)
            .await
            .expect("advance_reminder")
    };

    let second = Reminder {
        next_due: later(900),
        fired: 1,
        last_fired_at: Some(later(1)),
        ..first.clone()
    };
    assert!(
        !advance(later(-1), &second).await,
        "a wrong expected due time changes nothing"
    );
    assert_eq!(get(&first.id).await, Some(first.clone()));

    assert!(
        advance(first.next_due, &second).await,
        "the expected due time of a pending reminder advances it"
    );
    assert_eq!(get(&first.id).await, Some(second.clone()), "stored whole");
    assert!(
        !advance(first.next_due, &second).await,
        "advancing from the same occurrence again loses: someone was first"
    );

    let done = Reminder {
        status: ReminderStatus::Done,
        fired: 2,
        ..second.clone()
    };
    assert!(advance(second.next_due, &done).await);
    assert_eq!(get(&first.id).await, Some(done.clone()));
    assert!(
        !advance(second.next_due, &second).await,
        "a done reminder is never advanced again"
    );
    assert!(
        store
            .list_reminders(&owner, 10)
            .await
            .expect("list")
            .is_empty(),
        "a done reminder is not pending"
    );

    let other = pending(&owner, later(50), Recurrence::Once);
    store
        .insert_reminder(&other)
        .await
        .expect("insert_reminder");
    let cancelled = Reminder {
        status: ReminderStatus::Cancelled,
        ..other.clone()
    };
    assert!(advance(other.next_due, &cancelled).await);
    assert_eq!(get(&other.id).await, Some(cancelled));

    let stranger = pending(&owner, later(60), Recurrence::Once);
    assert!(
        !advance(stranger.next_due, &stranger).await,
        "advancing an unknown reminder does nothing"
    );
    assert_eq!(get(&stranger.id).await, None, "and creates nothing");
}

/// Of several advances of one occurrence at once, exactly one wins.
pub async fn concurrent_reminder_advances_let_one_win(store: &dyn Store) {
    let scope = Scope::new("rem-race");
    let later = later();
    let reminder = pending(
        &scope.key(1),
        later(0),
        Recurrence::Interval { seconds: 60 },
    );
    store
        .insert_reminder(&reminder)
        .await
        .expect("insert_reminder");
    let candidates: Vec<Reminder> = (1..=4)
        .map(|i| Reminder {
            next_due: later(60 * i),
            fired: 1,
            ..reminder.clone()
        })
        .collect();
    let advance = |i: usize| store.advance_reminder(reminder.next_due, &candidates[i]);
    let outcomes = tokio::join!(advance(0), advance(1), advance(2), advance(3));
    let outcomes = [outcomes.0, outcomes.1, outcomes.2, outcomes.3];
    let won: Vec<&Reminder> = outcomes
        .into_iter()
        .zip(&candidates)
        .filter_map(|(outcome, c)| outcome.expect("advance_reminder").then_some(c))
        .collect();
    assert_eq!(won.len(), 1, "exactly one advance wins");
    assert_eq!(
        store
            .get_reminder(&reminder.id)
            .await
            .expect("get_reminder"),
        Some(won[0].clone()),
        "the winner is what is stored"
    );
}

/// A pending reminder of `owner`, due at `due`.
fn pending(owner: &ConversationKey, due: Timestamp, recurrence: Recurrence) -> Reminder {
    Reminder {
        id: ReminderId::generate(),
        owner: owner.clone(),
        text: "suite reminder ✓".into(),
        recurrence,
        time_zone: "Europe/Berlin".into(),
        next_due: due,
        status: ReminderStatus::Pending,
        created_at: whole_seconds(Timestamp::now()),
        fired: 0,
        last_fired_at: None,
        created_by: None,
    }
}

fn weekly() -> Recurrence {
    Recurrence::Weekly {
        on: jiff::civil::Weekday::Monday,
        at: jiff::civil::time(10, 0, 0, 0),
    }
}

/// Instants `second`s from a base far enough after the real clock that no
/// check's `now` reaches them.
fn later() -> impl Fn(i64) -> Timestamp {
    let base = whole_seconds(Timestamp::now()) + SignedDuration::from_hours(24 * 400);
    move |second| base + SignedDuration::from_secs(second)
}

fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).expect("a valid instant")
}
