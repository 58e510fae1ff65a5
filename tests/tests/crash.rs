//! The notifier killed mid-batch: the real `nudge` binary, SIGKILLed while
//! its sends are in flight, then started again on the same data directory.
//!
//! The channel answers after 300 ms, so at any instant up to the notifier's
//! concurrency (8) sends are in flight. After the restart every
//! notification must have reached the chat (nothing lost) and the only
//! doubles allowed are the sends the channel had accepted but not yet
//! answered when the process died: the Connector API has no idempotency
//! key, so no notifier can know whether those arrived. The test counts
//! them and reports them against the concurrency.

use std::collections::HashMap;
use std::time::Duration;

use nudge::activity::Activity;
use nudge::ids::ConversationKey;
use nudge::notification::{enqueue, Notification, Reason};
use nudge::queue::embedded::EmbeddedQueue;
use nudge::service_url::Provenance;
use nudge::store::sqlite::SqliteStore;
use nudge::store::{Store, StoredReference, IN_DOUBT};
use nudge_tests::channel::FakeChannel;
use nudge_tests::host::{DataDir, HostProcess};

const NOTIFICATIONS: usize = 120;
const CONCURRENCY: &str = "8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_killed_mid_batch_loses_nothing_and_doubles_only_what_was_in_flight() {
    let data = DataDir::new("kill");
    let channel = FakeChannel::start().await;
    channel.set_latency(Duration::from_millis(300));
    let env = [
        ("NUDGE_NOTIFIER_CONCURRENCY", CONCURRENCY),
        ("NUDGE_CONVERSATION_RATE_LIMITS", "off"),
        ("NUDGE_BOT_RATE_LIMIT", "0"),
        // An attempt cut short by the crash holds its claim this long.
        ("NUDGE_DELIVERY_LEASE_SECONDS", "2"),
    ];
    let host = HostProcess::start_with(data.path(), &env).await;

    let store = SqliteStore::open(&data.path().join("store.db")).expect("open the store");
    let queue = EmbeddedQueue::open(&data.path().join("queue.db"), 10).expect("open the queue");
    let mut notifications = Vec::new();
    for n in 0..NOTIFICATIONS {
        let key = ConversationKey::new("test", &format!("kill-{n}")).expect("a key");
        store
            .save_reference(&StoredReference::minimal(
                &key,
                channel.service_url(),
                Provenance::Verified,
            ))
            .await
            .expect("save_reference");
        notifications.push(Notification::to_conversation(
            key,
            Activity::message(format!("crash {n}")),
            Reason::Webhook,
        ));
    }
    enqueue(&queue, &notifications).await.expect("enqueue");

    // Kill it once about a third has gone out, sends in flight.
    wait_until(&channel, NOTIFICATIONS / 3, Duration::from_secs(60)).await;
    host.kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let in_flight = channel.unanswered();
    let before_restart = channel.received().len();

    let host = HostProcess::start_with(data.path(), &env).await;
    wait_until(&channel, NOTIFICATIONS, Duration::from_secs(120)).await;
    // Anything still to come (a double) would come within a lease or two.
    tokio::time::sleep(Duration::from_secs(5)).await;
    host.stop().await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    for received in channel.received() {
        *seen.entry(received.text().to_owned()).or_default() += 1;
    }
    let lost: Vec<&Notification> = notifications
        .iter()
        .filter(|n| !seen.contains_key(n.activity.text.as_deref().unwrap_or_default()))
        .collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    let doubles: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "crash report: {NOTIFICATIONS} notifications, {before_restart} accepted before the kill, \
         {in_flight} in flight at the kill (concurrency {CONCURRENCY}), {doubles} doubled"
    );
    assert!(
        doubles <= in_flight,
        "{doubles} doubles, but only {in_flight} sends were in flight at the crash"
    );
    assert!(in_flight <= 8, "no more in flight than the concurrency");
    let mut in_doubt = 0;
    for notification in &notifications {
        let record = store
            .get_delivery(&notification.id)
            .await
            .expect("get_delivery")
            .expect("every notification has a delivery record");
        assert!(record.status.is_final(), "{record:?}");
        in_doubt += usize::from(record.last_error.as_deref() == Some(IN_DOUBT));
        let text = notification.activity.text.as_deref().unwrap_or_default();
        if seen.get(text).copied().unwrap_or_default() > 1 {
            assert_eq!(
                record.last_error.as_deref(),
                Some(IN_DOUBT),
                "a double is marked in its record"
            );
        }
    }
    eprintln!("crash report: {in_doubt} delivery records say their outcome was in doubt");
    assert!(
        doubles <= in_doubt && in_doubt <= 8,
        "in doubt: the attempts cut short, at most the concurrency"
    );
}

async fn wait_until(channel: &FakeChannel, count: usize, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let distinct = || {
        let mut texts: Vec<String> = channel
            .received()
            .iter()
            .map(|r| r.text().to_owned())
            .collect();
        texts.sort();
        texts.dedup();
        texts.len()
    };
    while distinct() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} notifications arrived within {timeout:?}",
            distinct()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
