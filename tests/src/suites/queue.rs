//! The [`Queue`] suite.
//!
//! The checks are timed for a real SQS queue as much as for the embedded
//! one: visibility timeouts and delays are whole seconds
//! ([`QueueSetup::short`], 1 s is right for both), waits are generous, and
//! nothing depends on the order in which messages come back, which SQS does
//! not promise. Receiving keeps asking until what a check expects has come
//! or its patience runs out, since one SQS receive may return only some of
//! the visible messages.
//!
//! A queue cannot be shared the way a table can: receiving takes whatever
//! is there. Each check marks its bodies with a unique prefix, ignores
//! other messages and deletes its own before it returns, but the suite
//! still wants a queue of its own, configured with a redrive policy of
//! [`QueueSetup::max_receive_count`] (at least 3), and checks run one
//! after another.

use std::time::Duration;

use jiff::Timestamp;
use nudge::queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};
use tokio::time::Instant;

use super::unique;

/// How the queue under test is configured.
#[derive(Debug, Clone, Copy)]
pub struct QueueSetup {
    /// Its redrive policy: after this many receives a message goes to the
    /// dead-letter queue. The suite needs at least 3.
    pub max_receive_count: u32,
    /// A visibility timeout and a delay short enough to wait out in a test,
    /// long enough for the backend to honour: 1 s suits SQS and embedded.
    pub short: Duration,
}

impl QueueSetup {
    /// How long to wait for something that should arrive.
    fn patience(&self) -> Duration {
        self.short * 3 + Duration::from_secs(2)
    }
}

/// A visibility timeout no check waits out: what a check receives with it
/// stays hidden for the rest of the check unless the check reveals it.
const LONG: Duration = Duration::from_secs(30);

/// How far a backend's timing may stray from the requested one.
const SLACK: Duration = Duration::from_millis(200);

/// Every check of the suite, listed once (see `store_checks!`): each is
/// `check(queue, setup)`.
#[macro_export]
macro_rules! queue_checks {
    ($m:ident) => {
        $m!(
            send_receive_delete,
            receive_takes_at_most_max,
            visibility_timeout_redelivers_with_a_new_receipt,
            delayed_messages_wait,
            change_visibility_reveals_and_hides,
            dead_letters_after_max_receives,
            dead_lettered_messages_are_redriven,
            long_polling,
            oversized_messages_are_refused,
        );
    };
}

macro_rules! in_turn {
    ($($check:ident),* $(,)?) => {
        /// Runs every check of the suite on `queue`, one after another.
        pub async fn run_all(queue: &dyn Queue, setup: QueueSetup) {
            assert!(
                setup.max_receive_count >= 3,
                "the queue suite needs a max_receive_count of at least 3"
            );
            $($check(queue, setup).await;)*
        }
    };
}

crate::queue_checks!(in_turn);

/// Sent messages are received once each (count 1, distinct ids and
/// receipts), are hidden while in flight, and deleted ones never return.
pub async fn send_receive_delete(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("send");
    let before = Timestamp::now();
    batch.send(queue, &["a", "b", "c"], Duration::ZERO).await;
    let after = Timestamp::now();

    let mut got = batch.collect(queue, 3, LONG, setup.patience()).await;
    assert_eq!(got.len(), 3, "each sent message is received once: {got:?}");
    got.sort_by(|x, y| x.body.cmp(&y.body));
    assert_eq!(batch.labels(&got), ["a", "b", "c"], "bodies arrive intact");
    for message in &got {
        assert_eq!(message.receive_count, 1, "a first receive counts 1");
        let slack = jiff::SignedDuration::from_secs(5);
        assert!(
            message.sent_at >= before - slack && message.sent_at <= after + slack,
            "sent_at {} is when the message was sent ({before}..{after})",
            message.sent_at
        );
    }
    assert_distinct(got.iter().map(|m| &m.message_id), "message ids");
    assert_distinct(got.iter().map(|m| &m.receipt), "receipts");
    batch
        .assert_none_visible(queue, "received messages are hidden while in flight")
        .await;

    for message in &got[..2] {
        queue.delete(&message.receipt).await.expect("delete");
    }
    // Revealing all three: only the one not deleted can come back.
    for message in &got {
        queue
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
            .expect("change_visibility with a deleted message's receipt is a no-op");
    }
    let back = batch.collect(queue, 1, LONG, setup.patience()).await;
    assert_eq!(
        batch.labels(&back),
        ["c"],
        "deleted messages never come back; the other one does"
    );
    assert_eq!(back[0].message_id, got[2].message_id);
    assert_eq!(back[0].receive_count, 2);
    batch
        .assert_none_visible(queue, "deleted messages never come back")
        .await;
    batch.delete(queue, &back).await;
}

/// A receive returns at most `max` messages.
pub async fn receive_takes_at_most_max(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("max");
    batch
        .send(queue, &["1", "2", "3", "4", "5"], Duration::ZERO)
        .await;

    let first = queue
        .receive(2, LONG, setup.patience())
        .await
        .expect("receive");
    assert!(
        (1..=2).contains(&first.len()),
        "receive(2, ..) returns one or two messages, got {}",
        first.len()
    );
    let rest = batch
        .collect(queue, 5 - batch.ours(&first).len(), LONG, setup.patience())
        .await;
    batch.delete(queue, &first).await;
    batch.delete(queue, &rest).await;
}

/// A message not deleted within its visibility timeout comes back, with a
/// new receipt and a higher count. Using the superseded receipt is not an
/// error; whether it still acts is the backend's business (SQS honours an
/// older receipt of a message, the embedded queue ignores it), so no check
/// depends on either.
pub async fn visibility_timeout_redelivers_with_a_new_receipt(
    queue: &dyn Queue,
    setup: QueueSetup,
) {
    let batch = Batch::new("redeliver");
    batch.send(queue, &["m"], Duration::ZERO).await;

    let first = batch
        .collect_one(queue, setup.short, setup.patience())
        .await;
    let received_at = Instant::now();
    batch
        .assert_none_visible(queue, "a received message is hidden")
        .await;
    let second = batch.collect_one(queue, LONG, setup.patience()).await;
    assert!(
        received_at.elapsed() + SLACK >= setup.short,
        "the message stays hidden for its visibility timeout ({:?}), came back after {:?}",
        setup.short,
        received_at.elapsed()
    );
    assert_redelivery(&first, &second);

    queue
        .change_visibility(&first.receipt, LONG)
        .await
        .expect("change_visibility with a stale receipt is not an error");
    queue
        .delete(&first.receipt)
        .await
        .expect("delete with a stale receipt is not an error");
    queue
        .delete(&second.receipt)
        .await
        .expect("delete with the current receipt");
    batch
        .assert_none_visible(queue, "a message deleted by its current receipt is gone")
        .await;
}

/// A delayed message is hidden for its delay; the others are not.
pub async fn delayed_messages_wait(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("delay");
    let sent_at = Instant::now();
    queue
        .send(vec![
            batch.message("later", setup.short),
            batch.message("now", Duration::ZERO),
        ])
        .await
        .expect("send");

    let first = batch.collect(queue, 1, LONG, setup.patience()).await;
    assert_eq!(
        batch.labels(&first),
        ["now"],
        "the undelayed message comes first, alone"
    );
    let second = batch.collect(queue, 1, LONG, setup.patience()).await;
    assert_eq!(batch.labels(&second), ["later"]);
    assert!(
        sent_at.elapsed() + SLACK >= setup.short,
        "the delayed message is hidden for its delay ({:?}), came after {:?}",
        setup.short,
        sent_at.elapsed()
    );
    assert_eq!(second[0].receive_count, 1, "a delay is not a receive");
    batch.delete(queue, &first).await;
    batch.delete(queue, &second).await;
}

/// `change_visibility` to zero makes a message visible at once; to a longer
/// timeout, keeps it hidden past its original one.
pub async fn change_visibility_reveals_and_hides(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("visibility");
    batch.send(queue, &["m"], Duration::ZERO).await;

    let first = batch.collect_one(queue, LONG, setup.patience()).await;
    queue
        .change_visibility(&first.receipt, Duration::ZERO)
        .await
        .expect("change_visibility");
    let second = batch
        .collect_one(queue, setup.short, setup.patience())
        .await;
    assert_redelivery(&first, &second);

    queue
        .change_visibility(&second.receipt, LONG)
        .await
        .expect("change_visibility");
    tokio::time::sleep(setup.short * 2).await;
    batch
        .assert_none_visible(
            queue,
            "extending the visibility keeps the message hidden past its first timeout",
        )
        .await;
    batch.delete(queue, &[second]).await;
}

/// After `max_receive_count` receives, a message that becomes visible again
/// goes to the dead-letter queue instead of being received.
pub async fn dead_letters_after_max_receives(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("dead");
    batch.send(queue, &["m"], Duration::ZERO).await;

    for count in 1..=setup.max_receive_count {
        let message = batch.collect_one(queue, LONG, setup.patience()).await;
        assert_eq!(message.receive_count, count);
        queue
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
            .expect("change_visibility");
    }
    let got = queue
        .receive(10, LONG, setup.short * 2)
        .await
        .expect("receive");
    let ours = batch.ours(&got);
    assert!(
        ours.is_empty(),
        "a message received max_receive_count ({}) times is dead-lettered, not received again: {ours:?}",
        setup.max_receive_count
    );
}

/// A message the notifier dead-letters leaves the queue at once; a redrive
/// brings it back, visible now, with its receive count reset.
pub async fn dead_lettered_messages_are_redriven(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("redrive");
    batch.send(queue, &["m"], Duration::ZERO).await;
    let message = batch
        .collect_one(queue, setup.short, setup.patience())
        .await;
    queue
        .dead_letter(&message, "gave up after 8 attempts: 503")
        .await
        .expect("dead_letter");
    let got = queue
        .receive(10, LONG, setup.short * 2)
        .await
        .expect("receive");
    assert!(
        batch.ours(&got).is_empty(),
        "a dead-lettered message is not received again"
    );
    let moved = queue
        .redrive_dead_letters(100)
        .await
        .expect("redrive_dead_letters");
    assert!(moved >= 1, "the dead letter was moved back");
    let back = batch.collect_one(queue, LONG, setup.patience()).await;
    assert_eq!(back.body, message.body);
    assert_eq!(
        back.receive_count, 1,
        "a redriven message starts counting again"
    );
    queue.delete(&back.receipt).await.expect("delete");
}

/// `receive` with a wait returns as soon as a message arrives, and waits
/// out the whole wait when none does.
pub async fn long_polling(queue: &dyn Queue, setup: QueueSetup) {
    let batch = Batch::new("poll");
    let started = Instant::now();
    let got = queue.receive(10, LONG, setup.short).await.expect("receive");
    if got.is_empty() {
        assert!(
            started.elapsed() + SLACK >= setup.short,
            "an empty receive waits out its wait ({:?}), returned after {:?}",
            setup.short,
            started.elapsed()
        );
    }

    let wait = Duration::from_secs(10);
    let started = Instant::now();
    let (got, ()) = tokio::join!(queue.receive(10, LONG, wait), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        batch.send(queue, &["m"], Duration::ZERO).await;
    });
    let got = got.expect("receive");
    assert_eq!(
        batch.labels(&batch.ours(&got)),
        ["m"],
        "a waiting receive gets the message sent meanwhile (the queue must be the suite's own)"
    );
    assert!(
        started.elapsed() < wait / 2,
        "a waiting receive returns as soon as a message arrives, took {:?}",
        started.elapsed()
    );
    batch.delete(queue, &got).await;
}

/// A body over the adapter's own limit ([`Queue::limits`]) is refused
/// with `TooLarge`, naming the body's size and that limit.
pub async fn oversized_messages_are_refused(queue: &dyn Queue, _setup: QueueSetup) {
    let most = queue.limits().max_body_bytes;
    let body = "x".repeat(most + 1);
    match queue
        .send(vec![OutgoingMessage {
            body,
            delay: Duration::ZERO,
        }])
        .await
    {
        Err(QueueError::TooLarge(size, limit)) => {
            assert_eq!(size, most + 1, "TooLarge names the body's size");
            assert_eq!(limit, most, "TooLarge names the adapter's limit");
        }
        other => panic!("a body over {most} bytes must be TooLarge, got {other:?}"),
    }
}

/// Messages of one check: bodies `{prefix}:{label}`.
struct Batch {
    prefix: String,
}

impl Batch {
    fn new(check: &str) -> Self {
        Self {
            prefix: format!("{}:", unique(check)),
        }
    }

    fn message(&self, label: &str, delay: Duration) -> OutgoingMessage {
        OutgoingMessage {
            body: format!("{}{label}", self.prefix),
            delay,
        }
    }

    async fn send(&self, queue: &dyn Queue, labels: &[&str], delay: Duration) {
        let messages = labels.iter().map(|l| self.message(l, delay)).collect();
        queue.send(messages).await.expect("send");
    }

    fn ours(&self, messages: &[ReceivedMessage]) -> Vec<ReceivedMessage> {
        messages
            .iter()
            .filter(|m| m.body.starts_with(&self.prefix))
            .cloned()
            .collect()
    }

    fn labels<'m>(&self, messages: &'m [ReceivedMessage]) -> Vec<&'m str> {
        messages
            .iter()
            .map(|m| m.body.strip_prefix(&self.prefix).unwrap_or(&m.body))
            .collect()
    }

    /// Receives until `want` of this batch's messages have come, or
    /// `within` has passed; returns what came.
    async fn collect(
        &self,
        queue: &dyn Queue,
        want: usize,
        visibility: Duration,
        within: Duration,
    ) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while got.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "expected {want} message(s) within {within:?}, got {}: {got:?}",
                    got.len()
                );
            }
            let received = queue.receive(10, visibility, left).await.expect("receive");
            got.extend(self.ours(&received));
        }
        got
    }

    async fn collect_one(
        &self,
        queue: &dyn Queue,
        visibility: Duration,
        within: Duration,
    ) -> ReceivedMessage {
        let mut got = self.collect(queue, 1, visibility, within).await;
        assert_eq!(got.len(), 1, "one message expected: {got:?}");
        got.remove(0)
    }

    async fn assert_none_visible(&self, queue: &dyn Queue, why: &str) {
        let received = queue
            .receive(10, LONG, Duration::ZERO)
            .await
            .expect("receive");
        let ours = self.ours(&received);
        assert!(ours.is_empty(), "{why}: {ours:?}");
    }

    async fn delete(&self, queue: &dyn Queue, messages: &[ReceivedMessage]) {
        for message in self.ours(messages) {
            queue.delete(&message.receipt).await.expect("delete");
        }
    }
}

/// `later` is `earlier` received once more.
fn assert_redelivery(earlier: &ReceivedMessage, later: &ReceivedMessage) {
    assert_eq!(
        later.message_id, earlier.message_id,
        "the same message comes back"
    );
    assert_eq!(later.body, earlier.body);
    assert_eq!(later.sent_at, earlier.sent_at, "sent_at does not change");
    assert_eq!(
        later.receive_count,
        earlier.receive_count + 1,
        "each receive counts one more"
    );
    assert_ne!(
        later.receipt, earlier.receipt,
        "each receive has a new receipt"
    );
}

fn assert_distinct<'a>(values: impl Iterator<Item = &'a String>, what: &str) {
    let mut values: Vec<&String> = values.collect();
    let n = values.len();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), n, "{what} are distinct");
}
