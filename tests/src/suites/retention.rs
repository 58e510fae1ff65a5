//! The retention checks, for stores without a TTL of their own, whose
//! maintenance tick purges ([`RetentionStore::purge_expired`]): the
//! embedded store and Table Storage. (DynamoDB's records expire by
//! themselves; its purge deletes nothing.)
//!
//! The checks count what a purge deletes, so each needs a store of its
//! own.

use jiff::Timestamp;
use nudge::ids::{ConversationKey, NotificationId};
use nudge::notification::Target;
use nudge::store::prelude::*;
use nudge::store::{
    AcceptedNotification, Cutoffs, DeliveryClaim, IdempotencyRecord, Job, JobStatus, Purged,
};

/// The maintenance tick's purge ([`RetentionStore::purge_expired`]): what
/// has outlived its retention goes, oldest first and a bounded number at a
/// time; what has not, and jobs still running however old, stay.
pub async fn records_past_their_retention_are_purged(store: &dyn Store) {
    let long_ago = Timestamp::from_second(1_700_000_000).unwrap();
    let now = Timestamp::now();
    let owner = ConversationKey::new("emulator", "retention").unwrap();

    let mut deliveries = Vec::new();
    for (n, updated) in [(0, long_ago), (1, now)] {
        let id: NotificationId = format!("n-purge-{n}").parse().unwrap();
        let DeliveryClaim::Proceed(mut record) = store
            .begin_delivery(&id, None, updated, updated)
            .await
            .unwrap()
        else {
            panic!("a first claim proceeds");
        };
        record.updated_at = updated;
        store.put_delivery(&record).await.unwrap();
        deliveries.push(id);
    }
    let job = |created_at| super::store::job(&owner, created_at);
    let (finished_long_ago, running_long, finished_now) =
        (job(long_ago), job(long_ago), job(long_ago));
    for j in [&finished_long_ago, &running_long, &finished_now] {
        store.insert_job(j).await.unwrap();
    }
    let finish = |j: &Job, at| {
        let id = j.id.clone();
        async move {
            store
                .transition_job(&id, &[JobStatus::Running], JobStatus::Complete, at)
                .await
                .unwrap()
        }
    };
    finish(&finished_long_ago, long_ago).await;
    finish(&finished_now, now).await;
    let accepted = |n: u32, accepted_at| AcceptedNotification {
        id: format!("n-accepted-{n}").parse().unwrap(),
        target: Target::Conversation { key: owner.clone() },
        recipients: 1,
        accepted_at,
        not_before: None,
    };
    let (old_accepted, new_accepted) = (accepted(0, long_ago), accepted(1, now));
    for a in [&old_accepted, &new_accepted] {
        store.save_accepted(a).await.unwrap();
    }
    store
        .put_idempotency_record(&IdempotencyRecord {
            key: "expired-key".parse().unwrap(),
            fingerprint: "f".into(),
            created_at: long_ago,
            expires_at: long_ago,
            lease_until: None,
            response: None,
        })
        .await
        .unwrap();

    let cutoffs = Cutoffs::at(now, jiff::SignedDuration::from_hours(24));
    let purged = store.purge_expired(&cutoffs, 100).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            deliveries: 1,
            finished_jobs: 1,
            accepted: 1,
            expired_keys: 1,
        }
    );
    assert_eq!(store.get_delivery(&deliveries[0]).await.unwrap(), None);
    assert!(store.get_delivery(&deliveries[1]).await.unwrap().is_some());
    assert_eq!(store.get_job(&finished_long_ago.id).await.unwrap(), None);
    assert!(
        store.get_job(&running_long.id).await.unwrap().is_some(),
        "a running job stays, however old"
    );
    assert!(store.get_job(&finished_now.id).await.unwrap().is_some());
    assert_eq!(store.get_accepted(&old_accepted.id).await.unwrap(), None);
    assert!(store
        .get_accepted(&new_accepted.id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store.purge_expired(&cutoffs, 100).await.unwrap(),
        Purged::default(),
        "nothing left to purge"
    );
}

/// The purge takes at most `limit` of each kind per call, oldest first.
pub async fn a_purge_is_bounded_per_call(store: &dyn Store) {
    let long_ago = Timestamp::from_second(1_700_000_000).unwrap();
    for n in 0..5 {
        let at = long_ago + jiff::SignedDuration::from_secs(n);
        let id: NotificationId = format!("n-bounded-{n}").parse().unwrap();
        let DeliveryClaim::Proceed(mut record) =
            store.begin_delivery(&id, None, at, at).await.unwrap()
        else {
            panic!("a first claim proceeds");
        };
        record.updated_at = at;
        store.put_delivery(&record).await.unwrap();
    }
    let cutoffs = Cutoffs::at(Timestamp::now(), jiff::SignedDuration::from_hours(24));
    assert_eq!(
        store.purge_expired(&cutoffs, 2).await.unwrap().deliveries,
        2
    );
    let oldest: NotificationId = "n-bounded-0".parse().unwrap();
    let newest: NotificationId = "n-bounded-4".parse().unwrap();
    assert_eq!(
        store.get_delivery(&oldest).await.unwrap(),
        None,
        "oldest first"
    );
    assert!(store.get_delivery(&newest).await.unwrap().is_some());
    assert_eq!(
        store.purge_expired(&cutoffs, 10).await.unwrap().deliveries,
        3
    );
}
