//! The [`Store`] suite.
//!
//! Each check works in a [`Scope`] of its own: a channel id no other check
//! uses, so its conversation keys sort together and apart from everyone
//! else's, and tags named after that channel. Listings are read from a
//! cursor just before the scope and followed until they leave it, which is
//! how the suite runs against a table other checks (or runs) share.
//!
//! The exception is [`subscriber_counts`]: `count_subscribers(None)` counts
//! everyone, so that check asserts how the count moves and needs no other
//! writer to subscribe or unsubscribe while it runs.
//!
//! Times are passed in explicitly (`now`, `lease_until`, `at`), so nothing
//! here sleeps. The reminder checks live in [`reminders`], which explains
//! how they share a store despite `due_reminders` answering for all of it;
//! the webhook API's methods are checked in [`webhook_api`], and every
//! count after every kind of change in [`counts`].

use jiff::{SignedDuration, Timestamp};
use nudge::activity::{ChannelAccount, ConversationAccount, ConversationReference, TeamChannel};
use nudge::ids::{ConversationKey, JobId, NotificationId};
use nudge::store::{
    DeliveryClaim, DeliveryRecord, DeliveryStatus, Job, JobStatus, Page, Store, StoreError,
    StoredReference, TransitionError,
};
use serde_json::json;

use super::unique;

mod caps;
mod counts;
mod directory;
mod rate_limits;
mod reminders;
mod webhook_api;

pub use caps::*;
pub use counts::*;
pub use directory::*;
pub use rate_limits::*;
pub use reminders::*;
pub use webhook_api::*;

/// Every check of the suite, listed once: `store_checks!(m)` expands to
/// `m!(check, …)`. An adapter's test file passes a macro that makes one test
/// per check, and [`run_all`] runs them in turn, so a check added here runs
/// on every adapter.
#[macro_export]
macro_rules! store_checks {
    ($m:ident) => {
        $m!(
            references_round_trip,
            deactivation,
            references_list_in_key_order_by_page,
            subscribe_and_unsubscribe,
            subscribers_list_by_tag_and_overall_by_page,
            subscriber_counts,
            subscriber_counts_follow_each_change,
            concurrent_subscription_changes_keep_counts_exact,
            refreshing_a_reference_keeps_its_subscriptions,
            jobs_insert_get_and_list,
            job_transitions,
            delivery_claims,
            delivery_records_round_trip,
            reminders_insert_and_get,
            reminders_list_by_owner,
            due_reminders_by_due_time,
            reminder_advances_are_conditional,
            concurrent_reminder_advances_let_one_win,
            user_conversations_are_the_active_ones_naming_the_user,
            child_deliveries_are_listed_and_counted_by_parent,
            child_delivery_counts_follow_each_status_change,
            concurrent_child_deliveries_are_counted_once,
            idempotency_keys_are_claimed_once,
            accepted_notifications_round_trip,
            rate_limit_slots_fill_windows_in_order,
            concurrent_rate_limit_slots_never_overfill,
            caps_count_live_records,
            parked_reminders_resume_once,
            signatures_are_remembered_once,
            an_expired_signature_is_no_replay,
            directory_entries_round_trip,
        );
    };
}

macro_rules! in_turn {
    ($($check:ident),* $(,)?) => {
        /// Runs every check of the suite on `store`, one after another.
        pub async fn run_all(store: &dyn Store) {
            $($check(store).await;)*
        }
    };
}

crate::store_checks!(in_turn);

/// Saving stores the reference whole (unknown channel fields included);
/// saving again replaces it; unknown keys read as `None`.
pub async fn references_round_trip(store: &dyn Store) {
    let scope = Scope::new("refs");
    let key = scope.key(1);
    assert_eq!(
        store.get_reference(&key).await.expect("get_reference"),
        None,
        "an unknown key has no reference"
    );

    let first = reference(&key, "user-1", at(0));
    store.save_reference(&first).await.expect("save_reference");
    assert_eq!(
        store.get_reference(&key).await.expect("get_reference"),
        Some(first.clone()),
        "a saved reference reads back exactly, unknown fields included"
    );

    let mut refreshed = reference(&key, "user-2", at(60));
    refreshed.reference.service_url = Some("https://other.example.com/".into());
    refreshed.active = false;
    refreshed.inactive_reason = Some("test".into());
    store
        .save_reference(&refreshed)
        .await
        .expect("save_reference");
    assert_eq!(
        store.get_reference(&key).await.expect("get_reference"),
        Some(refreshed),
        "saving again replaces the reference, last_seen, active and inactive_reason"
    );
}

/// Deactivating marks the reference inactive with a reason and keeps the
/// rest; an unknown key is a no-op; a later save reactivates.
pub async fn deactivation(store: &dyn Store) {
    let scope = Scope::new("deactivate");
    let key = scope.key(1);
    let saved = reference(&key, "user-1", at(0));
    store.save_reference(&saved).await.expect("save_reference");

    store
        .deactivate_reference(&key, "blocked")
        .await
        .expect("deactivate_reference");
    let expected = StoredReference {
        active: false,
        inactive_reason: Some("blocked".into()),
        ..saved.clone()
    };
    assert_eq!(
        store.get_reference(&key).await.expect("get_reference"),
        Some(expected),
        "deactivating clears `active`, records the reason and keeps the rest"
    );

    let unknown = scope.key(2);
    store
        .deactivate_reference(&unknown, "gone")
        .await
        .expect("deactivating an unknown key is not an error");
    assert_eq!(
        store.get_reference(&unknown).await.expect("get_reference"),
        None,
        "deactivating an unknown key creates nothing"
    );

    let back = reference(&key, "user-1", at(60));
    store.save_reference(&back).await.expect("save_reference");
    assert_eq!(
        store.get_reference(&key).await.expect("get_reference"),
        Some(back),
        "a conversation that writes again is active again"
    );
}

/// `list_references` returns every reference (inactive ones too) in key
/// order, a page at a time, with `next` naming the last key of the page.
pub async fn references_list_in_key_order_by_page(store: &dyn Store) {
    let scope = Scope::new("list");
    // Saved out of order, and one of them inactive.
    let keys: Vec<ConversationKey> = [4, 0, 6, 2, 5, 1, 3].map(|n| scope.key(n)).into();
    for key in &keys {
        store
            .save_reference(&reference(key, "user", at(0)))
            .await
            .expect("save_reference");
    }
    store
        .deactivate_reference(&keys[0], "test")
        .await
        .expect("deactivate_reference");

    let listed = scope
        .read_pages(
            3,
            |r: &StoredReference| r.key.clone(),
            async |after| store.list_references(after.as_ref(), 3).await,
        )
        .await;
    assert_eq!(
        listed.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        sorted(&keys),
        "every reference, once, in key order, across pages of 3"
    );
    assert!(
        listed.iter().any(|r| !r.active),
        "inactive references are listed too"
    );
}

/// `subscribe` says whether the subscription is new; `unsubscribe` says
/// whether it removed anything, and without a tag removes them all.
pub async fn subscribe_and_unsubscribe(store: &dyn Store) {
    let scope = Scope::new("subscribe");
    let key = scope.key(1);
    let (news, sports) = (scope.tag("news"), scope.tag("sports"));
    let news = Some(news.as_str());
    let sports = Some(sports.as_str());

    for (tag, label) in [(None, "the general list"), (news, "a tag")] {
        assert!(
            store.subscribe(&key, tag, at(0)).await.expect("subscribe"),
            "subscribing to {label} the first time is new"
        );
        assert!(
            !store.subscribe(&key, tag, at(1)).await.expect("subscribe"),
            "subscribing to {label} again is not new"
        );
    }
    assert!(store
        .subscribe(&key, sports, at(2))
        .await
        .expect("subscribe"));

    assert!(
        store.unsubscribe(&key, news).await.expect("unsubscribe"),
        "removing an existing tag removes something"
    );
    assert!(
        !store.unsubscribe(&key, news).await.expect("unsubscribe"),
        "removing it twice removes nothing"
    );
    assert_eq!(
        scope.subscribers(store, sports).await,
        std::slice::from_ref(&key),
        "removing one tag leaves the others"
    );

    assert!(
        store.unsubscribe(&key, None).await.expect("unsubscribe"),
        "unsubscribing without a tag removes every subscription"
    );
    assert!(
        scope.subscribers(store, None).await.is_empty(),
        "after unsubscribing from everything the conversation is no subscriber"
    );
    assert!(
        !store.unsubscribe(&key, None).await.expect("unsubscribe"),
        "unsubscribing a conversation without subscriptions removes nothing"
    );
    assert!(
        store.subscribe(&key, None, at(3)).await.expect("subscribe"),
        "subscribing after unsubscribing is new again"
    );
}

/// `subscribers` lists keys in key order, a page at a time: with a tag,
/// those subscribed to it; without, each conversation with any subscription,
/// once.
pub async fn subscribers_list_by_tag_and_overall_by_page(store: &dyn Store) {
    let scope = Scope::new("subscribers");
    let (a, b) = (scope.tag("a"), scope.tag("b"));
    let (a, b) = (Some(a.as_str()), Some(b.as_str()));
    // Which conversation subscribes to what, saved out of key order.
    let plan: [(usize, &[Option<&str>]); 6] = [
        (5, &[a, b]),
        (0, &[None]),
        (3, &[b]),
        (1, &[a]),
        (2, &[None, a]),
        (4, &[None, a, b]),
    ];
    for (n, tags) in plan {
        for &tag in tags {
            store
                .subscribe(&scope.key(n), tag, at(0))
                .await
                .expect("subscribe");
        }
    }
    let keys = |ns: &[usize]| ns.iter().map(|&n| scope.key(n)).collect::<Vec<_>>();

    assert_eq!(
        scope.subscribers(store, a).await,
        keys(&[1, 2, 4, 5]),
        "subscribers of a tag, in key order, across pages of 2"
    );
    assert_eq!(scope.subscribers(store, b).await, keys(&[3, 4, 5]));
    assert_eq!(
        scope.subscribers(store, None).await,
        keys(&[0, 1, 2, 3, 4, 5]),
        "without a tag: every conversation with any subscription, each once"
    );
    let unknown = scope.tag("nobody");
    assert!(
        scope.subscribers(store, Some(&unknown)).await.is_empty(),
        "a tag nobody subscribed to has no subscribers"
    );
}

/// `count_subscribers` counts a tag's subscribers, or without a tag each
/// subscribed conversation once. Needs no concurrent subscription changes.
pub async fn subscriber_counts(store: &dyn Store) {
    let scope = Scope::new("counts");
    let tag = scope.tag("t");
    let tag = Some(tag.as_str());
    let count = async |tag: Option<&str>| store.count_subscribers(tag).await.expect("count");
    let everyone_before = count(None).await;
    assert_eq!(count(tag).await, 0, "a new tag has no subscribers");

    for n in 0..3 {
        store
            .subscribe(&scope.key(n), tag, at(0))
            .await
            .expect("subscribe");
    }
    store
        .subscribe(&scope.key(0), None, at(0))
        .await
        .expect("subscribe");
    store
        .subscribe(&scope.key(3), None, at(0))
        .await
        .expect("subscribe");
    assert_eq!(
        count(tag).await,
        3,
        "three conversations subscribed to the tag"
    );
    assert_eq!(
        count(None).await,
        everyone_before + 4,
        "four distinct conversations subscribed to something (one of them twice)"
    );

    store
        .unsubscribe(&scope.key(0), None)
        .await
        .expect("unsubscribe");
    assert_eq!(count(tag).await, 2);
    assert_eq!(count(None).await, everyone_before + 3);
}

/// Saving a reference again, or deactivating it, keeps its subscriptions.
pub async fn refreshing_a_reference_keeps_its_subscriptions(store: &dyn Store) {
    let scope = Scope::new("keep-subs");
    let key = scope.key(1);
    let tag = scope.tag("t");
    store
        .save_reference(&reference(&key, "user", at(0)))
        .await
        .expect("save_reference");
    store.subscribe(&key, None, at(0)).await.expect("subscribe");
    store
        .subscribe(&key, Some(&tag), at(0))
        .await
        .expect("subscribe");

    store
        .save_reference(&reference(&key, "user", at(60)))
        .await
        .expect("save_reference");
    store
        .deactivate_reference(&key, "test")
        .await
        .expect("deactivate_reference");
    assert_eq!(
        scope.subscribers(store, Some(&tag)).await,
        std::slice::from_ref(&key),
        "the tag subscription survives a refresh"
    );
    assert!(
        !store.subscribe(&key, None, at(1)).await.expect("subscribe"),
        "the general subscription survives a refresh"
    );
}

/// Jobs read back as inserted; a taken id is a conflict and leaves the job
/// alone; `list_jobs` gives the most recent first, at most `limit`.
pub async fn jobs_insert_get_and_list(store: &dyn Store) {
    let scope = Scope::new("jobs");
    let unknown = JobId::generate();
    assert!(
        store.get_job(&unknown).await.expect("get_job").is_none(),
        "an unknown job id reads as None"
    );

    // Created in the future, so they are the newest even in a shared store.
    let base = Timestamp::now() + SignedDuration::from_hours(24);
    let jobs: Vec<Job> = (0..3)
        .map(|i| job(&scope.key(1), base + SignedDuration::from_secs(i)))
        .collect();
    for job in &jobs {
        store.insert_job(job).await.expect("insert_job");
        assert_eq!(
            store.get_job(&job.id).await.expect("get_job"),
            Some(job.clone()),
            "a job reads back as inserted"
        );
    }

    let impostor = Job {
        owner: scope.key(2),
        ..jobs[0].clone()
    };
    assert!(
        matches!(store.insert_job(&impostor).await, Err(StoreError::Conflict)),
        "inserting a taken job id is a conflict"
    );
    assert_eq!(
        store.get_job(&jobs[0].id).await.expect("get_job"),
        Some(jobs[0].clone()),
        "a conflicting insert leaves the job as it was"
    );

    let newest_first: Vec<Job> = jobs.iter().rev().cloned().collect();
    let log = &jobs[0].log;
    assert_eq!(
        store.list_jobs(log, 4).await.expect("list_jobs"),
        newest_first,
        "list_jobs gives the most recent first"
    );
    assert_eq!(
        store.list_jobs(log, 2).await.expect("list_jobs"),
        newest_first[..2],
        "list_jobs gives at most `limit`"
    );
    let elsewhere = job(&scope.key(3), base);
    store.insert_job(&elsewhere).await.expect("insert_job");
    assert_eq!(
        store.list_jobs(log, 4).await.expect("list_jobs"),
        newest_first,
        "another job log's jobs are not listed"
    );
    assert_eq!(
        store.list_jobs(&elsewhere.log, 4).await.expect("list_jobs"),
        [elsewhere],
        "each job log lists its own"
    );
}

/// `transition_job` moves a job only from one of the given statuses,
/// stamping `completed_at` on completion, and says why when it cannot.
pub async fn job_transitions(store: &dyn Store) {
    let scope = Scope::new("transitions");
    let created = job(&scope.key(1), at(0));
    store.insert_job(&created).await.expect("insert_job");
    let id = &created.id;

    let completing = store
        .transition_job(id, &[JobStatus::Running], JobStatus::Completing, at(10))
        .await
        .expect("Running -> Completing is allowed");
    let expected = Job {
        status: JobStatus::Completing,
        ..created.clone()
    };
    assert_eq!(
        completing, expected,
        "the moved job is returned, no completed_at yet"
    );
    assert_eq!(
        store.get_job(id).await.expect("get_job"),
        Some(expected.clone()),
        "the move is stored"
    );

    match store
        .transition_job(id, &[JobStatus::Running], JobStatus::Completing, at(11))
        .await
    {
        Err(TransitionError::WrongState(job)) => {
            assert_eq!(job, expected, "WrongState carries the job as it is")
        }
        other => panic!("moving from a status the job is not in must be WrongState, got {other:?}"),
    }

    let complete = store
        .transition_job(
            id,
            &[JobStatus::Running, JobStatus::Completing],
            JobStatus::Complete,
            at(20),
        )
        .await
        .expect("any of several `from` statuses will do");
    let expected = Job {
        status: JobStatus::Complete,
        completed_at: Some(at(20)),
        ..created.clone()
    };
    assert_eq!(complete, expected, "completing sets completed_at to `at`");
    assert_eq!(store.get_job(id).await.expect("get_job"), Some(expected));

    assert!(
        matches!(
            store
                .transition_job(
                    &JobId::generate(),
                    &[JobStatus::Running],
                    JobStatus::Complete,
                    at(30)
                )
                .await,
            Err(TransitionError::NotFound)
        ),
        "moving an unknown job is NotFound"
    );
}

/// `begin_delivery`: the first attempt creates a pending, leased record; a
/// live lease is busy; an expired one, or a retry, is taken over with one
/// more attempt; a final status is finished.
pub async fn delivery_claims(store: &dyn Store) {
    let scope = Scope::new("claims");
    let conversation = scope.key(1);
    let id: NotificationId = unique("claim").parse().expect("a valid notification id");
    let begin = async |now, lease| {
        store
            .begin_delivery(&id, Some(&conversation), at(now), at(lease))
            .await
            .expect("begin_delivery")
    };

    let first = proceeds(begin(0, 30).await, "the first attempt");
    assert_eq!(first.notification_id, id);
    assert_eq!(first.conversation.as_ref(), Some(&conversation));
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!(first.attempts, 1, "the first attempt counts one");
    assert_eq!(first.lease_until, Some(at(30)));
    assert_eq!((first.created_at, first.updated_at), (at(0), at(0)));
    assert_eq!(
        store.get_delivery(&id).await.expect("get_delivery"),
        Some(first.clone()),
        "the claim is stored"
    );

    assert_eq!(
        begin(29, 60).await,
        DeliveryClaim::Busy(first.clone()),
        "while the lease runs, another attempt is Busy and sees the record"
    );

    let second = proceeds(begin(30, 60).await, "an attempt once the lease ran out");
    assert_eq!(second.attempts, 2, "taking over counts an attempt");
    assert_eq!(second.status, DeliveryStatus::Pending);
    assert_eq!(second.lease_until, Some(at(60)));
    assert_eq!(second.updated_at, at(30));
    assert_eq!(second.created_at, at(0), "created_at stays");

    let retrying = DeliveryRecord {
        status: DeliveryStatus::Retrying,
        status_codes: vec![429],
        last_error: Some("throttled".into()),
        updated_at: at(31),
        ..second
    };
    store.put_delivery(&retrying).await.expect("put_delivery");
    let third = proceeds(
        begin(32, 90).await,
        "an attempt after Retrying, lease or not",
    );
    assert_eq!(third.attempts, 3);
    assert_eq!(third.status, DeliveryStatus::Pending);
    assert_eq!(third.lease_until, Some(at(90)));
    assert_eq!(third.status_codes, [429], "earlier outcomes are kept");

    for status in [
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
        DeliveryStatus::Blocked,
    ] {
        let done = DeliveryRecord {
            status,
            lease_until: None,
            ..third.clone()
        };
        store.put_delivery(&done).await.expect("put_delivery");
        assert_eq!(
            begin(33, 120).await,
            DeliveryClaim::Finished(done.clone()),
            "a {status} delivery is Finished"
        );
        assert_eq!(
            store.get_delivery(&id).await.expect("get_delivery"),
            Some(done),
            "claiming a finished delivery changes nothing"
        );
    }
}

/// `put_delivery` stores a record whole (creating it if needed) and
/// `get_delivery` reads it back; unknown ids read as `None`.
pub async fn delivery_records_round_trip(store: &dyn Store) {
    let id: NotificationId = unique("record").parse().expect("a valid notification id");
    assert_eq!(store.get_delivery(&id).await.expect("get_delivery"), None);

    let record = DeliveryRecord {
        notification_id: id.clone(),
        conversation: None,
        status: DeliveryStatus::Sent,
        attempts: 2,
        status_codes: vec![502, 201],
        last_error: Some("bad gateway".into()),
        activity_id: Some("1:activity".into()),
        created_at: at(0),
        updated_at: at(5),
        lease_until: None,
        send_at: None,
        dead_lettered: false,
    };
    store.put_delivery(&record).await.expect("put_delivery");
    assert_eq!(
        store.get_delivery(&id).await.expect("get_delivery"),
        Some(record),
        "a delivery record reads back exactly"
    );
}

/// Keys and tags private to one check.
struct Scope {
    channel: String,
}

impl Scope {
    fn new(check: &str) -> Self {
        Self {
            channel: unique(check),
        }
    }

    /// The `n`th conversation of the scope; keys sort by `n`.
    fn key(&self, n: usize) -> ConversationKey {
        ConversationKey::new(&self.channel, &format!("c{n:03}")).expect("a valid key")
    }

    fn tag(&self, name: &str) -> String {
        format!("{}-{name}", self.channel)
    }

    fn owns(&self, key: &ConversationKey) -> bool {
        key.channel_id() == self.channel
    }

    /// A cursor just before every key of the scope, and after every key
    /// of other scopes that sort before it.
    fn start(&self) -> ConversationKey {
        ConversationKey::new(&self.channel, "c").expect("a valid key")
    }

    /// Follows a paginated listing from [`Scope::start`] while it stays in
    /// the scope, checking the shape of every page, and returns the items
    /// of the scope in the order listed.
    async fn read_pages<T: std::fmt::Debug>(
        &self,
        limit: usize,
        key_of: impl Fn(&T) -> ConversationKey,
        mut fetch: impl AsyncFnMut(Option<ConversationKey>) -> Result<Page<T>, StoreError>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        let mut after = Some(self.start());
        for _ in 0..1000 {
            let page = fetch(after.clone()).await.expect("listing a page");
            assert!(
                page.items.len() <= limit,
                "a page holds at most `limit` ({limit}) items, got {}",
                page.items.len()
            );
            if let Some(next) = &page.next {
                assert_eq!(
                    page.items.last().map(&key_of).as_ref(),
                    Some(next),
                    "`next` is the key of the last item of the page"
                );
            }
            let left_scope = page.items.iter().any(|item| !self.owns(&key_of(item)));
            items.extend(
                page.items
                    .into_iter()
                    .filter(|item| self.owns(&key_of(item))),
            );
            if page.next.is_none() || left_scope {
                return items;
            }
            after = page.next;
        }
        panic!("the listing did not end within 1000 pages: does `next` advance?");
    }

    /// The scope's subscribers of `tag`, read two at a time.
    async fn subscribers(&self, store: &dyn Store, tag: Option<&str>) -> Vec<ConversationKey> {
        self.read_pages(2, ConversationKey::clone, async |after| {
            store.subscribers(tag, after.as_ref(), 2).await
        })
        .await
    }
}

fn sorted(keys: &[ConversationKey]) -> Vec<ConversationKey> {
    let mut keys = keys.to_vec();
    keys.sort_by_key(ToString::to_string);
    keys
}

/// A fixed instant plus `second` seconds: claims and transitions take their
/// time as an argument, so the suite can use any clock it likes.
fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + second).expect("a valid instant")
}

fn reference(key: &ConversationKey, user: &str, last_seen: Timestamp) -> StoredReference {
    let mut extra = serde_json::Map::new();
    extra.insert("suiteUnknown".into(), json!({ "kept": [1, "two"] }));
    StoredReference {
        key: key.clone(),
        reference: ConversationReference {
            activity_id: Some("activity-1".into()),
            user: Some(ChannelAccount {
                id: user.into(),
                name: Some("Suite User".into()),
                ..Default::default()
            }),
            bot: Some(ChannelAccount {
                id: "bot".into(),
                ..Default::default()
            }),
            conversation: Some(ConversationAccount {
                id: key.conversation_id().into(),
                tenant_id: Some("tenant-1".into()),
                ..Default::default()
            }),
            channel_id: Some(key.channel_id().into()),
            service_url: Some("https://smba.example.com/".into()),
            locale: Some("en-US".into()),
            extra,
        },
        active: true,
        inactive_reason: None,
        last_seen,
        // Not the default, so the suite sees adapters keep it.
        provenance: nudge::service_url::Provenance::Verified,
        team_channel: Some(TeamChannel {
            team_id: "19:team@thread.tacv2".into(),
            team_name: Some("Release team".into()),
            channel_id: Some("19:deploys@thread.tacv2".into()),
            channel_name: Some("Deploys".into()),
        }),
    }
}

/// A running job of `owner`, in the job log named after the owner.
pub fn job(owner: &ConversationKey, created_at: Timestamp) -> Job {
    Job {
        id: JobId::generate(),
        owner: owner.clone(),
        status: JobStatus::Running,
        created_at,
        completed_at: None,
        tenant: Some(format!("tenant-of-{owner}")),
        log: format!("log-of-{owner}"),
        created_by: None,
    }
}

fn proceeds(claim: DeliveryClaim, attempt: &str) -> DeliveryRecord {
    match claim {
        DeliveryClaim::Proceed(record) => record,
        other => panic!("{attempt} must Proceed, got {other:?}"),
    }
}
