//! The embedded adapters against the port suites, plus what only they
//! promise: durability across reopening, dead-letter inspection and
//! redrive, queue depth, ordering, and atomicity under concurrent callers.
//!
//! Every test gets a fresh file in a temporary directory of its own, so
//! they run in parallel.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use nudge::activity::ConversationReference;
use nudge::ids::{ConversationKey, JobId, NotificationId};
use nudge::queue::embedded::EmbeddedQueue;
use nudge::queue::{OutgoingMessage, Queue, ReceivedMessage};
use nudge::service_url::Provenance;
use nudge::store::prelude::*;
use nudge::store::sqlite::SqliteStore;
use nudge::store::{DeliveryClaim, DeliveryRecord, Job, JobStatus, StoredReference};
use nudge_tests::suites::{self, queue::QueueSetup};
use tokio::time::Instant;

/// The embedded queue's setup for the suite: dead letters after 3 receives.
const SETUP: QueueSetup = QueueSetup {
    max_receive_count: 3,
    short: Duration::from_secs(1),
};

/// One store check per test, each on a fresh file.
macro_rules! store_suite {
    ($($check:ident),* $(,)?) => {
        mod store_suite {
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = super::TempDir::new();
                    nudge_tests::suites::store::$check(&dir.store()).await;
                }
            )*
        }
    };
}

/// One queue check per test, each on a fresh file.
macro_rules! queue_suite {
    ($($check:ident),* $(,)?) => {
        mod queue_suite {
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = super::TempDir::new();
                    let queue = dir.queue(super::SETUP.max_receive_count);
                    nudge_tests::suites::queue::$check(&queue, super::SETUP).await;
                }
            )*
        }
    };
}

nudge_tests::store_checks!(store_suite);
nudge_tests::queue_checks!(queue_suite);

#[tokio::test]
async fn the_whole_store_suite_passes_on_one_shared_store() {
    let dir = TempDir::new();
    suites::store::run_all(&dir.store()).await;
}

#[tokio::test]
async fn the_whole_queue_suite_passes_on_one_queue() {
    let dir = TempDir::new();
    suites::queue::run_all(&dir.queue(SETUP.max_receive_count), SETUP).await;
}

#[tokio::test]
async fn the_store_keeps_everything_across_reopening() {
    let dir = TempDir::new();
    let path = dir.path("nested/dirs/store.db");
    let key = ConversationKey::new("emulator", "conversation-1").unwrap();
    let reference = StoredReference {
        key: key.clone(),
        reference: ConversationReference::default(),
        active: true,
        inactive_reason: None,
        last_seen: Timestamp::now(),
        provenance: Provenance::Verified,
        team_channel: None,
    };
    let job = Job {
        id: JobId::generate(),
        owner: key.clone(),
        status: JobStatus::Running,
        created_at: Timestamp::now(),
        completed_at: None,
        tenant: None,
        log: "tenant:".into(),
        created_by: None,
    };
    let id = NotificationId::generate();
    let delivery = {
        let store = SqliteStore::open(&path).expect("open creates the directories");
        store.save_reference(&reference).await.unwrap();
        store
            .subscribe(&key, Some("news"), Timestamp::now())
            .await
            .unwrap();
        store.insert_job(&job).await.unwrap();
        let now = Timestamp::now();
        proceed(
            store
                .begin_delivery(&id, Some(&key), now, now)
                .await
                .unwrap(),
        )
    };

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get_reference(&key).await.unwrap(), Some(reference));
    assert_eq!(store.count_subscribers(Some("news")).await.unwrap(), 1);
    assert_eq!(store.get_job(&job.id).await.unwrap(), Some(job));
    assert_eq!(store.get_delivery(&id).await.unwrap(), Some(delivery));
}

#[tokio::test]
async fn the_queue_keeps_messages_and_receipts_across_reopening() {
    let dir = TempDir::new();
    let path = dir.path("queue/queue.db");
    let in_flight = {
        let queue = EmbeddedQueue::open(&path, 3).unwrap();
        queue
            .send(vec![
                message("visible", Duration::ZERO),
                message("in flight", Duration::ZERO),
                message("delayed", Duration::from_secs(60)),
            ])
            .await
            .unwrap();
        let mut got = receive(&queue, 10, Duration::from_secs(60)).await;
        assert_eq!(bodies(&got), ["visible", "in flight"]);
        queue
            .change_visibility(&got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
        got.remove(1)
    };
    assert_eq!(in_flight.body, "in flight");

    let queue = EmbeddedQueue::open(&path, 3).unwrap();
    assert_eq!(queue.depth().await.unwrap(), (1, 2));
    let visible = receive(&queue, 10, Duration::from_secs(60)).await;
    assert_eq!(bodies(&visible), ["visible"]);
    assert_eq!(visible[0].receive_count, 2, "receive counts are kept");
    queue
        .change_visibility(&in_flight.receipt, Duration::ZERO)
        .await
        .unwrap();
    let back = receive(&queue, 10, Duration::from_secs(60)).await;
    assert_eq!(bodies(&back), ["in flight"], "receipts stay valid");
}

#[tokio::test]
async fn dead_letters_can_be_listed_and_redriven() {
    let dir = TempDir::new();
    let queue = dir.queue(2);
    let sent_at = Timestamp::now();
    queue
        .send(vec![
            message("one", Duration::ZERO),
            message("two", Duration::ZERO),
        ])
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids = receive(&queue, 10, Duration::ZERO)
            .await
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(ids.len(), 2);
    }
    assert!(
        receive(&queue, 10, Duration::ZERO).await.is_empty(),
        "both were received twice: dead"
    );
    assert_eq!(queue.depth().await.unwrap(), (0, 0));

    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(
        dead.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    for (letter, id) in dead.iter().zip(&ids) {
        assert_eq!(&letter.message_id, id);
        assert_eq!(letter.receive_count, 2);
        assert!(letter.sent_at >= sent_at - jiff::SignedDuration::from_millis(1));
        assert!(letter.dead_at >= letter.sent_at);
    }
    assert_eq!(queue.dead_letters(1).await.unwrap().len(), 1, "limit holds");

    assert_eq!(queue.redrive().await.unwrap(), 2);
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    let back = receive(&queue, 10, Duration::from_secs(60)).await;
    assert_eq!(bodies(&back), ["one", "two"]);
    assert!(
        back.iter().all(|m| m.receive_count == 1),
        "counts start over"
    );
    assert_eq!(queue.redrive().await.unwrap(), 0);
}

#[tokio::test]
async fn depth_counts_visible_and_hidden_messages() {
    let dir = TempDir::new();
    let queue = dir.queue(3);
    assert_eq!(queue.depth().await.unwrap(), (0, 0));
    queue
        .send(vec![
            message("a", Duration::ZERO),
            message("b", Duration::ZERO),
            message("later", Duration::from_secs(60)),
        ])
        .await
        .unwrap();
    assert_eq!(queue.depth().await.unwrap(), (2, 1), "one is delayed");
    let got = receive(&queue, 1, Duration::from_secs(60)).await;
    assert_eq!(queue.depth().await.unwrap(), (1, 2), "one is in flight");
    queue.delete(&got[0].receipt).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), (1, 1), "one is gone");
}

#[tokio::test]
async fn visible_messages_are_received_oldest_first() {
    let dir = TempDir::new();
    let queue = dir.queue(3);
    queue
        .send(["a", "b", "c"].map(|b| message(b, Duration::ZERO)).into())
        .await
        .unwrap();
    let a = receive(&queue, 1, Duration::from_secs(60)).await;
    assert_eq!(bodies(&a), ["a"]);
    // `a` comes back (as a message held for a rate-limit slot does) while
    // a flood sent after it waits: it goes first.
    queue
        .send(["d", "e"].map(|b| message(b, Duration::ZERO)).into())
        .await
        .unwrap();
    queue
        .change_visibility(&a[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let all = receive(&queue, 10, Duration::from_secs(60)).await;
    assert_eq!(bodies(&all), ["a", "b", "c", "d", "e"], "in the order sent");
}

#[tokio::test]
async fn a_long_poll_wakes_when_a_message_is_made_visible() {
    let dir = TempDir::new();
    let queue = dir.queue(3);
    queue
        .send(vec![message("m", Duration::ZERO)])
        .await
        .unwrap();
    let got = receive(&queue, 1, Duration::from_secs(60)).await;
    let started = Instant::now();
    let (back, ()) = tokio::join!(
        queue.receive(10, Duration::from_secs(60), Duration::from_secs(10)),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            queue
                .change_visibility(&got[0].receipt, Duration::ZERO)
                .await
                .unwrap();
        }
    );
    assert_eq!(bodies(&back.unwrap()), ["m"]);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receivers_never_get_the_same_message() {
    let dir = TempDir::new();
    let queue = Arc::new(dir.queue(3));
    let sent: Vec<String> = (0..40).map(|i| format!("m{i:02}")).collect();
    queue
        .send(sent.iter().map(|b| message(b, Duration::ZERO)).collect())
        .await
        .unwrap();
    let receivers = (0..8).map(|_| {
        let queue = Arc::clone(&queue);
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = receive(&*queue, 3, Duration::from_secs(60)).await;
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.body));
            }
        })
    });
    let mut received: Vec<String> = Vec::new();
    for receiver in receivers.collect::<Vec<_>>() {
        received.extend(receiver.await.unwrap());
    }
    received.sort();
    assert_eq!(received, sent, "every message once, none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_of_one_delivery_let_exactly_one_proceed() {
    let dir = TempDir::new();
    suites::races::concurrent_claims_of_one_delivery_let_exactly_one_proceed(&dir.store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_of_one_job_let_exactly_one_succeed() {
    let dir = TempDir::new();
    suites::races::concurrent_transitions_of_one_job_let_exactly_one_succeed(&dir.store()).await;
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(suites::unique("nudge-embedded"));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.path("store.db")).expect("open the store")
    }

    fn queue(&self, max_receive_count: u32) -> EmbeddedQueue {
        EmbeddedQueue::open(&self.path("queue.db"), max_receive_count).expect("open the queue")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn message(body: &str, delay: Duration) -> OutgoingMessage {
    OutgoingMessage {
        body: body.to_owned(),
        delay,
    }
}

/// One receive that does not wait.
async fn receive(queue: &dyn Queue, max: usize, visibility: Duration) -> Vec<ReceivedMessage> {
    queue
        .receive(max, visibility, Duration::ZERO)
        .await
        .expect("receive")
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

fn proceed(claim: DeliveryClaim) -> DeliveryRecord {
    match claim {
        DeliveryClaim::Proceed(record) => record,
        other => panic!("expected Proceed, got {other:?}"),
    }
}

/// The retention checks (`suites::retention`): a store without TTL purges.
#[tokio::test]
async fn records_past_their_retention_are_purged() {
    let dir = TempDir::new();
    suites::retention::records_past_their_retention_are_purged(&dir.store()).await;
}

#[tokio::test]
async fn a_purge_is_bounded_per_call() {
    let dir = TempDir::new();
    suites::retention::a_purge_is_bounded_per_call(&dir.store()).await;
}
