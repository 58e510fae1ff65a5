//! The notifier killed mid-batch ([`nudge_tests::crash`]) on the local
//! host: the real `nudge` binary, SIGKILLed while its sends are in flight,
//! then started again on the same data directory. The Lambda notifier
//! runs the same check in `delivery_lambda.rs`.

use std::time::Duration;

use nudge::notification::enqueue;
use nudge::queue::embedded::EmbeddedQueue;
use nudge::store::sqlite::SqliteStore;
use nudge_tests::channel::FakeChannel;
use nudge_tests::crash::{self, AtTheKill};
use nudge_tests::host::{DataDir, HostProcess};

const NOTIFICATIONS: usize = 120;
const CONCURRENCY: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_killed_mid_batch_loses_nothing_and_doubles_only_what_was_in_flight() {
    let data = DataDir::new("kill");
    let channel = FakeChannel::start().await;
    channel.set_latency(crash::LATENCY);
    let concurrency = CONCURRENCY.to_string();
    let env = [
        ("NUDGE_NOTIFIER_CONCURRENCY", concurrency.as_str()),
        ("NUDGE_CONVERSATION_RATE_LIMITS", "off"),
        ("NUDGE_BOT_RATE_LIMIT", "0"),
        // An attempt cut short by the crash holds its claim this long.
        ("NUDGE_DELIVERY_LEASE_SECONDS", "2"),
    ];
    let host = HostProcess::start_with(data.path(), &env).await;

    let store = SqliteStore::open(&data.path().join("store.db")).expect("open the store");
    let queue = EmbeddedQueue::open(&data.path().join("queue.db"), 10).expect("open the queue");
    let notifications =
        crash::notifications(&store, channel.service_url(), "kill", NOTIFICATIONS).await;
    enqueue(&queue, &notifications).await.expect("enqueue");

    // Kill it once about a third has gone out, sends in flight.
    crash::wait_until(&channel, NOTIFICATIONS / 3, Duration::from_secs(60)).await;
    host.kill().await;
    let at_the_kill = AtTheKill::count(&channel).await;

    let host = HostProcess::start_with(data.path(), &env).await;
    crash::wait_until(&channel, NOTIFICATIONS, Duration::from_secs(120)).await;
    // Anything still to come (a double) would come within a lease or two.
    tokio::time::sleep(Duration::from_secs(5)).await;
    host.stop().await;

    crash::check(
        "local host",
        &channel,
        &store,
        &notifications,
        at_the_kill,
        CONCURRENCY,
    )
    .await;
}
