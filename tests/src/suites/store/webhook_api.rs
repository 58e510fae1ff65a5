//! The webhook API's methods of the [`Store`] suite: a user's active
//! conversations, a fan-out's child deliveries, idempotency keys and
//! accepted notifications.
//!
//! Users are named after their check's [`Scope`], and parents and keys are
//! unique per run, so these checks share a table with anything.

use jiff::Timestamp;
use nudge::ids::{ConversationKey, IdempotencyKey, NotificationId};
use nudge::notification::Target;
use nudge::store::{
    AcceptedNotification, DeliveryCounts, DeliveryRecord, DeliveryStatus, IdempotencyClaim,
    IdempotencyRecord, Store, StoredResponse,
};

use super::{at, proceeds, reference, unique, Scope};

/// A user's conversations are the active ones whose reference names the
/// user on that channel, in key order, by page; they follow refreshes and
/// deactivation.
pub async fn user_conversations_are_the_active_ones_naming_the_user(store: &dyn Store) {
    let scope = Scope::new("user-convs");
    let (ann, bob) = (scope.tag("ann"), scope.tag("bob"));
    for (n, user) in [(1, &ann), (2, &bob), (3, &ann), (4, &ann), (5, &ann)] {
        let saved = reference(&scope.key(n), user, at(n as i64));
        store.save_reference(&saved).await.expect("save_reference");
    }
    store
        .deactivate_reference(&scope.key(4), "blocked")
        .await
        .expect("deactivate_reference");
    let of = |user: String| {
        let channel = scope.key(0).channel_id().to_owned();
        async move { read_all(store, &channel, &user).await }
    };
    assert_eq!(
        of(ann.clone()).await,
        [scope.key(1), scope.key(3), scope.key(5)],
        "ann's active conversations, in key order, one per page"
    );
    assert_eq!(of(bob.clone()).await, [scope.key(2)]);
    assert_eq!(of(scope.tag("nobody")).await, Vec::<ConversationKey>::new());

    let back = reference(&scope.key(4), &ann, at(10));
    store.save_reference(&back).await.expect("save_reference");
    let moved = reference(&scope.key(1), &bob, at(11));
    store.save_reference(&moved).await.expect("save_reference");
    assert_eq!(
        of(ann).await,
        [scope.key(3), scope.key(4), scope.key(5)],
        "a conversation active again counts again; one now naming bob does not"
    );
    assert_eq!(of(bob).await, [scope.key(1), scope.key(2)]);
    let elsewhere = store
        .user_conversations("another-channel", &scope.tag("ann"), None, 10)
        .await
        .expect("user_conversations");
    assert!(elsewhere.items.is_empty(), "a user is per channel");
}

async fn read_all(store: &dyn Store, channel: &str, user: &str) -> Vec<ConversationKey> {
    let mut keys = Vec::new();
    let mut after = None;
    for _ in 0..100 {
        let page = store
            .user_conversations(channel, user, after.as_ref(), 1)
            .await
            .expect("user_conversations");
        assert!(page.items.len() <= 1, "a page holds at most `limit` items");
        keys.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return keys,
        }
    }
    panic!("the listing did not end: does `next` advance?");
}

/// A fan-out's child deliveries are listed in id order by page and counted
/// by status; records that are not its children are not.
pub async fn child_deliveries_are_listed_and_counted_by_parent(store: &dyn Store) {
    let parent: NotificationId = unique("parent").parse().expect("an id");
    let statuses = [
        DeliveryStatus::Sent,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
        DeliveryStatus::Blocked,
        DeliveryStatus::Retrying,
    ];
    let mut children: Vec<NotificationId> = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        let child = parent.child(&format!("recipient-{n}"));
        let claim = store
            .begin_delivery(&child, None, at(0), at(30))
            .await
            .expect("begin_delivery");
        let mut record = proceeds(claim, "a first claim");
        record.status = *status;
        store.put_delivery(&record).await.expect("put_delivery");
        children.push(child);
    }
    let pending = parent.child("recipient-pending");
    let claim = store.begin_delivery(&pending, None, at(0), at(30)).await;
    proceeds(claim.expect("begin_delivery"), "a first claim");
    children.push(pending);
    children.sort();
    for stranger in [
        parent.clone(),
        format!("{parent}.x").parse().expect("an id"),
    ] {
        let claim = store.begin_delivery(&stranger, None, at(0), at(30)).await;
        proceeds(claim.expect("begin_delivery"), "a first claim");
    }

    let mut listed: Vec<DeliveryRecord> = Vec::new();
    let mut after: Option<NotificationId> = None;
    for _ in 0..10 {
        let page = store
            .child_deliveries(&parent, after.as_ref(), 4)
            .await
            .expect("child_deliveries");
        assert!(
            page.items.len() <= 4,
            "a page holds at most `limit` records"
        );
        if let Some(next) = &page.next {
            assert_eq!(
                page.items.last().map(|r| &r.notification_id),
                Some(next),
                "`next` is the id of the last record of the page"
            );
        }
        listed.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let ids: Vec<NotificationId> = listed.iter().map(|r| r.notification_id.clone()).collect();
    assert_eq!(ids, children, "exactly the children, in id order");

    let mut expected = DeliveryCounts::default();
    for status in statuses.into_iter().chain([DeliveryStatus::Pending]) {
        expected.add(status, 1);
    }
    assert_eq!(
        store
            .count_child_deliveries(&parent)
            .await
            .expect("count_child_deliveries"),
        expected,
        "children counted by their current status"
    );
    let nobody: NotificationId = unique("childless").parse().expect("an id");
    assert_eq!(
        store.count_child_deliveries(&nobody).await.expect("count"),
        DeliveryCounts::default()
    );
}

/// An idempotency key is claimed by one call until it is answered and
/// expires, or is released, or its lease runs out.
pub async fn idempotency_keys_are_claimed_once(store: &dyn Store) {
    let key: IdempotencyKey = unique("idem").parse().expect("a key");
    let record = |fingerprint: &str, lease: i64| IdempotencyRecord {
        key: key.clone(),
        fingerprint: fingerprint.into(),
        created_at: at(0),
        expires_at: at(3600),
        lease_until: Some(at(lease)),
        response: None,
    };
    let first = record("first", 60);
    let claim = |r: IdempotencyRecord, now: i64| async move {
        store
            .claim_idempotency_key(&r, at(now))
            .await
            .expect("claim_idempotency_key")
    };
    assert_eq!(claim(first.clone(), 0).await, IdempotencyClaim::Claimed);
    assert_eq!(
        claim(record("second", 60), 1).await,
        IdempotencyClaim::Existing(first.clone()),
        "a leased key answers with its holder"
    );
    let answered = IdempotencyRecord {
        lease_until: None,
        response: Some(StoredResponse {
            status: 202,
            body: r#"{"ok":true}"#.into(),
        }),
        ..first.clone()
    };
    store
        .put_idempotency_record(&answered)
        .await
        .expect("put_idempotency_record");
    assert_eq!(
        claim(record("first", 600), 500).await,
        IdempotencyClaim::Existing(answered.clone()),
        "an answered key keeps its answer past the lease"
    );
    assert_eq!(
        claim(record("late", 3700), 3600).await,
        IdempotencyClaim::Claimed,
        "an expired key is free"
    );
    let released = IdempotencyRecord {
        lease_until: None,
        ..record("late", 0)
    };
    store
        .put_idempotency_record(&released)
        .await
        .expect("put_idempotency_record");
    assert_eq!(
        claim(record("retry", 3660), 3601).await,
        IdempotencyClaim::Claimed,
        "a released key is free"
    );
    assert_eq!(
        claim(record("other", 3700), 3700).await,
        IdempotencyClaim::Claimed,
        "a key whose lease ran out unanswered is free"
    );
}

/// An accepted notification reads back exactly; unknown ids read as None.
pub async fn accepted_notifications_round_trip(store: &dyn Store) {
    let id: NotificationId = unique("accepted").parse().expect("an id");
    assert_eq!(store.get_accepted(&id).await.expect("get_accepted"), None);
    let accepted = AcceptedNotification {
        id: id.clone(),
        target: Target::User {
            channel_id: "msteams".into(),
            user_id: "29:1".into(),
            after: None,
        },
        recipients: 3,
        accepted_at: Timestamp::from_second(1_750_000_000).expect("an instant"),
        not_before: Some(at(60)),
    };
    store.save_accepted(&accepted).await.expect("save_accepted");
    assert_eq!(
        store.get_accepted(&id).await.expect("get_accepted"),
        Some(accepted)
    );
}
