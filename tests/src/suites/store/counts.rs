//! The counts of the [`Store`] suite: how many subscribers a tag has, how
//! many conversations are subscribed to anything, and a fan-out's child
//! deliveries by status, after every kind of change and under races.
//!
//! The DynamoDB store keeps these as counters beside what they count (so
//! reading one does not grow with the audience); the embedded store counts
//! rows. Both must give exactly the answers here, whatever order writers
//! come in, and a retried or duplicated write must never count twice.
//!
//! `count_subscribers(None)` counts everyone, so the subscription checks
//! assert how it moves from what it was, and need no other writer to
//! subscribe or unsubscribe while they run (as [`super::subscriber_counts`]).
//! The delivery checks use parents unique to the run and share a store
//! with anything.

use futures::future::join_all;
use jiff::SignedDuration;
use nudge::ids::{ConversationKey, NotificationId};
use nudge::store::{DeliveryClaim, DeliveryCounts, DeliveryRecord, DeliveryStatus, Store};

use super::{at, proceeds, unique, Scope};

/// How many callers race.
const RACERS: usize = 8;

/// The counts of a tag, of a second tag and of everyone, as they stand.
async fn counts(store: &dyn Store, a: &str, b: &str) -> (u64, u64, u64) {
    let count = async |tag: Option<&str>| store.count_subscribers(tag).await.expect("count");
    (
        count(Some(a)).await,
        count(Some(b)).await,
        count(None).await,
    )
}

/// Subscriber counts follow subscribe, a duplicate subscribe, a second
/// tag, unsubscribing one tag, and unsubscribing from everything, for a
/// tag and for "subscribed to anything".
pub async fn subscriber_counts_follow_each_change(store: &dyn Store) {
    let scope = Scope::new("count-changes");
    let (a, b) = (scope.tag("a"), scope.tag("b"));
    let (one, two) = (scope.key(1), scope.key(2));
    let (_, _, everyone) = counts(store, &a, &b).await;
    let expect = |step: &str, want: (u64, u64, u64), got: (u64, u64, u64)| {
        assert_eq!(got, want, "(tag a, tag b, anyone) after {step}");
    };

    store
        .subscribe(&one, Some(&a), at(0))
        .await
        .expect("subscribe");
    expect(
        "a first subscribe",
        (1, 0, everyone + 1),
        counts(store, &a, &b).await,
    );

    let again = store
        .subscribe(&one, Some(&a), at(1))
        .await
        .expect("subscribe");
    assert!(!again, "the duplicate is not new");
    expect(
        "a duplicate subscribe",
        (1, 0, everyone + 1),
        counts(store, &a, &b).await,
    );

    store
        .subscribe(&one, Some(&b), at(2))
        .await
        .expect("subscribe");
    expect(
        "subscribing to a second tag (still one conversation)",
        (1, 1, everyone + 1),
        counts(store, &a, &b).await,
    );

    store.subscribe(&two, None, at(3)).await.expect("subscribe");
    store
        .subscribe(&two, Some(&b), at(3))
        .await
        .expect("subscribe");
    expect(
        "another conversation on the general list and a tag",
        (1, 2, everyone + 2),
        counts(store, &a, &b).await,
    );

    store
        .unsubscribe(&one, Some(&a))
        .await
        .expect("unsubscribe");
    expect(
        "unsubscribing one of two tags",
        (0, 2, everyone + 2),
        counts(store, &a, &b).await,
    );
    let again = store
        .unsubscribe(&one, Some(&a))
        .await
        .expect("unsubscribe");
    assert!(!again, "removing it twice removes nothing");
    expect(
        "a duplicate unsubscribe",
        (0, 2, everyone + 2),
        counts(store, &a, &b).await,
    );

    store
        .unsubscribe(&one, Some(&b))
        .await
        .expect("unsubscribe");
    expect(
        "unsubscribing the last tag",
        (0, 1, everyone + 1),
        counts(store, &a, &b).await,
    );

    store.unsubscribe(&two, None).await.expect("unsubscribe");
    expect(
        "unsubscribing from everything",
        (0, 0, everyone),
        counts(store, &a, &b).await,
    );
    let again = store.unsubscribe(&two, None).await.expect("unsubscribe");
    assert!(
        !again,
        "a conversation without subscriptions has nothing to remove"
    );
    expect(
        "unsubscribing from nothing",
        (0, 0, everyone),
        counts(store, &a, &b).await,
    );

    store
        .subscribe(&two, Some(&a), at(4))
        .await
        .expect("subscribe");
    expect(
        "subscribing again after leaving",
        (1, 0, everyone + 1),
        counts(store, &a, &b).await,
    );
    store.unsubscribe(&two, None).await.expect("unsubscribe");
}

/// Simultaneous subscribes and unsubscribes (duplicates among them, one
/// conversation's tags at once, everything at once) leave every count
/// exactly as the subscriptions left standing.
pub async fn concurrent_subscription_changes_keep_counts_exact(store: &dyn Store) {
    let scope = Scope::new("count-races");
    let (a, b) = (scope.tag("a"), scope.tag("b"));
    let keys: Vec<ConversationKey> = (0..RACERS).map(|n| scope.key(n)).collect();
    let (_, _, everyone) = counts(store, &a, &b).await;

    let tags = [None, Some(a.as_str()), Some(b.as_str())];
    let subscribes = keys.iter().flat_map(|key| {
        tags.iter()
            .flat_map(move |&tag| [tag, tag].map(|tag| store.subscribe(key, tag, at(0))))
    });
    let added = join_all(subscribes).await;
    let new = added
        .into_iter()
        .map(|r| r.expect("subscribe"))
        .filter(|new| *new);
    assert_eq!(
        new.count(),
        keys.len() * tags.len(),
        "of two simultaneous subscribes to the same tag exactly one is new"
    );
    assert_eq!(
        counts(store, &a, &b).await,
        (RACERS as u64, RACERS as u64, everyone + RACERS as u64),
        "(tag a, tag b, anyone) after simultaneous subscribes"
    );

    // The first half drops both tags (tag a twice) and keep the general
    // list; the second half leaves everything while also dropping tag a.
    let (first, second) = keys.split_at(RACERS / 2);
    let drops = first.iter().flat_map(|key| {
        [Some(a.as_str()), Some(a.as_str()), Some(b.as_str())]
            .map(|tag| store.unsubscribe(key, tag))
    });
    let leaves = second
        .iter()
        .flat_map(|key| [None, Some(a.as_str())].map(|tag| store.unsubscribe(key, tag)));
    let removed: Vec<bool> = join_all(drops.chain(leaves))
        .await
        .into_iter()
        .map(|r| r.expect("unsubscribe"))
        .collect();
    let tag_a_twice = removed.chunks(3).take(first.len());
    assert!(
        tag_a_twice.into_iter().all(|r| r[0] != r[1]),
        "of two simultaneous unsubscribes from the same tag exactly one removes it"
    );
    assert_eq!(
        counts(store, &a, &b).await,
        (0, 0, everyone + first.len() as u64),
        "(tag a, tag b, anyone) after simultaneous unsubscribes"
    );
    for key in first {
        store.unsubscribe(key, None).await.expect("unsubscribe");
    }
    assert_eq!(counts(store, &a, &b).await, (0, 0, everyone));
}

/// A child delivery is counted once from its first claim, and moves with
/// every status it is given: Pending → Retrying → Pending → Sent, Pending →
/// Blocked, a lease taken over, a dead letter redriven. Claims that find
/// the delivery busy or finished, and a record written again unchanged,
/// count nothing.
pub async fn child_delivery_counts_follow_each_status_change(store: &dyn Store) {
    use DeliveryStatus::{Blocked, Failed, Pending, Retrying, Sent};
    let parent: NotificationId = unique("count-parent").parse().expect("an id");
    let count = async || {
        store
            .count_child_deliveries(&parent)
            .await
            .expect("count_child_deliveries")
    };
    let tally = |pairs: &[(DeliveryStatus, u64)]| {
        let mut counts = DeliveryCounts::default();
        for &(status, n) in pairs {
            counts.add(status, n);
        }
        counts
    };
    let (sent, blocked) = (parent.child("sent"), parent.child("blocked"));
    let claim = async |id: &NotificationId, now: i64| {
        store
            .begin_delivery(id, None, at(now), at(now + 30))
            .await
            .expect("begin_delivery")
    };
    let put = async |record: &DeliveryRecord, status: DeliveryStatus| {
        let record = DeliveryRecord {
            status,
            lease_until: None,
            ..record.clone()
        };
        store.put_delivery(&record).await.expect("put_delivery");
        record
    };

    let first = proceeds(claim(&sent, 0).await, "a first claim");
    assert_eq!(
        count().await,
        tally(&[(Pending, 1)]),
        "a first claim counts one pending"
    );
    assert!(matches!(claim(&sent, 1).await, DeliveryClaim::Busy(_)));
    assert_eq!(
        count().await,
        tally(&[(Pending, 1)]),
        "a busy claim counts nothing"
    );

    let retrying = put(&first, Retrying).await;
    assert_eq!(
        count().await,
        tally(&[(Retrying, 1)]),
        "pending moves to retrying"
    );
    put(&retrying, Retrying).await;
    assert_eq!(
        count().await,
        tally(&[(Retrying, 1)]),
        "writing it again moves nothing"
    );

    let second = proceeds(claim(&sent, 10).await, "a retry's claim");
    assert_eq!(
        count().await,
        tally(&[(Pending, 1)]),
        "a retry's claim makes it pending"
    );
    put(&second, Sent).await;
    assert_eq!(count().await, tally(&[(Sent, 1)]), "pending moves to sent");
    assert!(matches!(claim(&sent, 20).await, DeliveryClaim::Finished(_)));
    assert_eq!(
        count().await,
        tally(&[(Sent, 1)]),
        "a finished claim counts nothing"
    );

    let doomed = proceeds(claim(&blocked, 0).await, "a first claim");
    put(&doomed, Blocked).await;
    assert_eq!(
        count().await,
        tally(&[(Sent, 1), (Blocked, 1)]),
        "pending moves to blocked"
    );

    let taken = parent.child("taken-over");
    proceeds(claim(&taken, 0).await, "a first claim");
    let again = proceeds(claim(&taken, 31).await, "a claim after the lease ran out");
    assert_eq!(again.attempts, 2);
    let expected = tally(&[(Sent, 1), (Blocked, 1), (Pending, 1)]);
    assert_eq!(
        count().await,
        expected,
        "a lease taken over is still one pending delivery"
    );

    let mut dead = put(&again, Failed).await;
    dead.dead_lettered = true;
    store.put_delivery(&dead).await.expect("put_delivery");
    let expected = tally(&[(Sent, 1), (Blocked, 1), (Failed, 1)]);
    assert_eq!(count().await, expected, "a dead letter counts as failed");
    proceeds(claim(&taken, 40).await, "a redriven dead letter's claim");
    let expected = tally(&[(Sent, 1), (Blocked, 1), (Pending, 1)]);
    assert_eq!(
        count().await,
        expected,
        "a redriven dead letter is pending again"
    );
}

/// Simultaneous claims of a fan-out's children count each child once, and
/// simultaneous writes of their outcomes leave each counted in the status
/// its record ends in.
pub async fn concurrent_child_deliveries_are_counted_once(store: &dyn Store) {
    let parent: NotificationId = unique("count-race").parse().expect("an id");
    let children: Vec<NotificationId> = (0..4).map(|n| parent.child(&format!("r{n}"))).collect();
    let now = at(0);
    let lease = now + SignedDuration::from_secs(30);
    let claims = children
        .iter()
        .flat_map(|id| (0..RACERS).map(move |_| store.begin_delivery(id, None, now, lease)));
    let claims: Vec<DeliveryClaim> = join_all(claims)
        .await
        .into_iter()
        .map(|claim| claim.expect("begin_delivery"))
        .collect();
    let won: Vec<DeliveryRecord> = claims
        .into_iter()
        .filter_map(|claim| match claim {
            DeliveryClaim::Proceed(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(
        won.len(),
        children.len(),
        "one claim of each child proceeds"
    );
    let mut pending = DeliveryCounts::default();
    pending.add(DeliveryStatus::Pending, children.len() as u64);
    assert_eq!(
        store.count_child_deliveries(&parent).await.expect("count"),
        pending,
        "each child counted once, pending"
    );

    // Two writers report different outcomes for each child at once; the
    // last one wins, and the counts must say which.
    let outcomes = [DeliveryStatus::Sent, DeliveryStatus::Retrying];
    let writes = won.iter().flat_map(|record| {
        outcomes.map(|status| {
            let record = DeliveryRecord {
                status,
                lease_until: None,
                ..record.clone()
            };
            async move { store.put_delivery(&record).await }
        })
    });
    for written in join_all(writes).await {
        written.expect("put_delivery");
    }
    let mut stored = DeliveryCounts::default();
    for id in &children {
        let record = store.get_delivery(id).await.expect("get").expect("stored");
        stored.add(record.status, 1);
    }
    assert_eq!(stored.total(), children.len() as u64);
    assert_eq!(
        store.count_child_deliveries(&parent).await.expect("count"),
        stored,
        "the counts are the statuses the records ended in"
    );
}
