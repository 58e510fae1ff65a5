//! The [`Store`] suite's checks of what the hardening reads: the counts
//! caps are checked against, parked reminders, and the replay cache of
//! signed webhook requests.
//!
//! Counts are per holder (a conversation of the check's own scope, a user
//! named after it), so checks sharing a store do not see each other's
//! records. Reminders sit a year ahead of the real clock, never due.

use jiff::{SignedDuration, Timestamp};
use nudge::calendar::Recurrence;
use nudge::ids::{JobId, ReminderId};
use nudge::store::{Holder, Job, JobStatus, Reminder, ReminderStatus, Store};

use super::{unique, Scope};

/// Unfinished jobs and pending reminders are counted by owner and by the
/// user who made them, up to the limit asked; finished ones drop out.
pub async fn caps_count_live_records(store: &dyn Store) {
    let scope = Scope::new("caps");
    let (owner, other) = (scope.key(1), scope.key(2));
    let user = format!("{}#user", scope.channel);
    let now = Timestamp::now();
    let mut jobs = Vec::new();
    for (n, conversation) in [&owner, &owner, &other].into_iter().enumerate() {
        let job = Job {
            id: JobId::generate(),
            owner: conversation.clone(),
            status: JobStatus::Running,
            created_at: now + SignedDuration::from_secs(n as i64),
            completed_at: None,
            tenant: None,
            log: unique("caps-log"),
            created_by: Some(user.clone()),
        };
        store.insert_job(&job).await.expect("insert_job");
        jobs.push(job);
    }
    let running = |holder| async move {
        store
            .count_running_jobs(holder, 10)
            .await
            .expect("count_running_jobs")
    };
    assert_eq!(running(Holder::Conversation(&owner)).await, 2);
    assert_eq!(
        running(Holder::User(&user)).await,
        3,
        "across conversations"
    );
    assert_eq!(
        store
            .count_running_jobs(Holder::User(&user), 2)
            .await
            .expect("count_running_jobs"),
        2,
        "a count stops at the limit"
    );
    store
        .transition_job(
            &jobs[0].id,
            &[JobStatus::Running],
            JobStatus::Completing,
            now,
        )
        .await
        .expect("to completing");
    assert_eq!(
        running(Holder::Conversation(&owner)).await,
        2,
        "a completing job is not finished"
    );
    store
        .transition_job(
            &jobs[0].id,
            &[JobStatus::Completing],
            JobStatus::Complete,
            now,
        )
        .await
        .expect("to complete");
    assert_eq!(running(Holder::Conversation(&owner)).await, 1);
    assert_eq!(running(Holder::User(&user)).await, 2);
    assert_eq!(
        running(Holder::User(&format!("{}#nobody", scope.channel))).await,
        0
    );

    let due = Timestamp::now() + SignedDuration::from_hours(24 * 400);
    let mut reminders = Vec::new();
    for (conversation, by) in [(&owner, Some(&user)), (&owner, None), (&other, Some(&user))] {
        let reminder = Reminder {
            created_by: by.cloned(),
            ..reminder(conversation, due)
        };
        store
            .insert_reminder(&reminder)
            .await
            .expect("insert_reminder");
        reminders.push(reminder);
    }
    let pending = |holder| async move {
        store
            .count_pending_reminders(holder, 10)
            .await
            .expect("count_pending_reminders")
    };
    assert_eq!(pending(Holder::Conversation(&owner)).await, 2);
    assert_eq!(pending(Holder::User(&user)).await, 2);
    let cancelled = Reminder {
        status: ReminderStatus::Cancelled,
        ..reminders[0].clone()
    };
    assert!(store
        .advance_reminder(cancelled.next_due, &cancelled)
        .await
        .expect("cancel"));
    assert_eq!(pending(Holder::Conversation(&owner)).await, 1);
    assert_eq!(pending(Holder::User(&user)).await, 1, "cancelled drops out");

    assert_eq!(store.count_subscriptions(&owner).await.expect("count"), 0);
    for tag in [None, Some("a"), Some("b")] {
        store
            .subscribe(&owner, tag.map(|t| scope.tag(t)).as_deref(), now)
            .await
            .expect("subscribe");
    }
    assert_eq!(store.count_subscriptions(&owner).await.expect("count"), 3);
    assert_eq!(store.count_subscriptions(&other).await.expect("count"), 0);
}

/// A parked reminder leaves the pending listings and the due index, is
/// listed as parked for its owner, and resumes once, as it was.
pub async fn parked_reminders_resume_once(store: &dyn Store) {
    let scope = Scope::new("parked");
    let owner = scope.key(1);
    let reminder = reminder(
        &owner,
        Timestamp::now() + SignedDuration::from_hours(24 * 400),
    );
    let due = reminder.next_due;
    store
        .insert_reminder(&reminder)
        .await
        .expect("insert_reminder");
    let parked = Reminder {
        status: ReminderStatus::Parked,
        ..reminder.clone()
    };
    assert!(store.advance_reminder(due, &parked).await.expect("park"));
    assert!(store
        .list_reminders(&owner, 10)
        .await
        .expect("list_reminders")
        .is_empty());
    assert!(
        !store
            .due_reminders(due, 1000)
            .await
            .expect("due_reminders")
            .iter()
            .any(|r| r.id == reminder.id),
        "a parked reminder is never due"
    );
    assert_eq!(
        store.parked_reminders(&owner, 10).await.expect("parked"),
        std::slice::from_ref(&parked)
    );
    assert!(store
        .parked_reminders(&scope.key(2), 10)
        .await
        .expect("parked")
        .is_empty());
    assert!(store.resume_reminder(&reminder).await.expect("resume"));
    assert!(
        !store.resume_reminder(&reminder).await.expect("resume"),
        "only a parked reminder resumes"
    );
    assert!(store
        .parked_reminders(&owner, 10)
        .await
        .expect("parked")
        .is_empty());
    assert_eq!(
        store.list_reminders(&owner, 10).await.expect("list"),
        std::slice::from_ref(&reminder)
    );
    let cancelled = Reminder {
        status: ReminderStatus::Cancelled,
        ..reminder
    };
    assert!(store.advance_reminder(due, &cancelled).await.expect("tidy"));
}

/// What `remember_signature` answers: `None` when the digest is new.
async fn remember(
    store: &dyn Store,
    digest: &str,
    key: &str,
    until: Timestamp,
    now: Timestamp,
) -> Option<String> {
    store
        .remember_signature(digest, key, until, now)
        .await
        .expect("remember")
}

/// A signed request's digest is remembered once: the second time is a
/// copy, whichever instance asks, and the answer names the key it first
/// came with.
pub async fn signatures_are_remembered_once(store: &dyn Store) {
    let now = Timestamp::now();
    let until = now + SignedDuration::from_secs(600);
    let digest = unique("digest");
    assert_eq!(remember(store, &digest, "key-1", until, now).await, None);
    assert_eq!(
        remember(
            store,
            &digest,
            "",
            until,
            now + SignedDuration::from_secs(1)
        )
        .await,
        Some("key-1".to_owned()),
        "the same request again is a copy, and says what key it came with"
    );
    let other = unique("digest");
    assert_eq!(remember(store, &other, "", until, now).await, None);
    assert_eq!(
        remember(store, &other, "key-2", until, now).await,
        Some(String::new())
    );
}

/// A digest remembered past its expiry is new again, on every store:
/// DynamoDB's TTL may leave the expired record in place for days, and it
/// must not turn a fresh request into a "replay".
pub async fn an_expired_signature_is_no_replay(store: &dyn Store) {
    let now = Timestamp::now();
    let digest = unique("digest");
    let until = now + SignedDuration::from_secs(60);
    assert_eq!(remember(store, &digest, "key-1", until, now).await, None);
    let later = until + SignedDuration::from_secs(1);
    let next_until = later + SignedDuration::from_secs(60);
    assert_eq!(
        remember(store, &digest, "key-2", next_until, later).await,
        None,
        "past its expiry the digest is new"
    );
    assert_eq!(
        remember(store, &digest, "", next_until, later).await,
        Some("key-2".to_owned()),
        "and remembered afresh, with its new key"
    );
}

fn reminder(owner: &nudge::ids::ConversationKey, due: Timestamp) -> Reminder {
    let due = Timestamp::from_second(due.as_second()).expect("whole seconds");
    Reminder {
        id: ReminderId::generate(),
        owner: owner.clone(),
        text: "cap".into(),
        recurrence: Recurrence::Once,
        time_zone: "UTC".into(),
        next_due: due,
        status: ReminderStatus::Pending,
        created_at: Timestamp::from_second(Timestamp::now().as_second()).expect("whole"),
        fired: 0,
        last_fired_at: None,
        created_by: None,
    }
}
