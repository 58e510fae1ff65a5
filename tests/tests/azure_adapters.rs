//! The Azure adapters against the port suites, on the Azurite that
//! `scripts/test` starts: the Storage queue must behave exactly as the
//! embedded queue and SQS do (one suite, three backends), plus what only
//! it involves: the poison queue the Functions host shares, base64 text,
//! and messages that never expire.
//!
//! Each test makes its own queue, so they run in parallel.

use std::time::Duration;

use nudge::queue::azure::{poison_name, text, AzureQueue};
use nudge::queue::{OutgoingMessage, Queue};
use nudge_tests::azurite;
use nudge_tests::suites::{self, queue::QueueSetup, unique};

/// The queue suite's setup: poisoned after 3 receives, 1 s timings.
const SETUP: QueueSetup = QueueSetup {
    max_receive_count: 3,
    short: Duration::from_secs(1),
};

#[tokio::test]
async fn the_whole_queue_suite_passes_on_azure_storage() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    suites::queue::run_all(&queue, SETUP).await;
}

/// The poison queue as another client (the Functions host, an operator's
/// tool) sees it.
fn poison_of(queue: &AzureQueue) -> AzureQueue {
    AzureQueue::new(
        &azurite::account(),
        &poison_name(queue.name()),
        reqwest::Client::new(),
        None,
        u32::MAX,
    )
    .expect("a poison queue client")
}

#[tokio::test]
async fn exhausted_and_given_up_messages_arrive_on_the_poison_queue_with_their_reason() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    suites::queue::dead_letters_after_max_receives(&queue, SETUP).await;
    let body = format!("{}:given-up", unique("poison"));
    queue
        .send(vec![OutgoingMessage {
            body: body.clone(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("send");
    let message = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive")
        .pop()
        .expect("the message");
    queue
        .dead_letter(&message, "gave up after 4 attempts: 503")
        .await
        .expect("dead_letter");

    let poisoned = poison_of(&queue)
        .receive(10, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive from the poison queue");
    assert_eq!(
        poisoned.len(),
        2,
        "both messages are poisoned: {poisoned:?}"
    );
    let given_up = poisoned
        .iter()
        .find(|m| m.body.contains("given-up"))
        .expect("the given-up message");
    assert!(
        given_up.body.contains("gave up after 4 attempts: 503") && given_up.body.contains(&body),
        "the poison message keeps the body and the reason: {}",
        given_up.body
    );
    let exhausted = poisoned
        .iter()
        .find(|m| m.body.contains("suite-dead-"))
        .expect("the exhausted one");
    assert!(
        exhausted.body.contains("\"reason\":null"),
        "received too often has no reason of the notifier's: {}",
        exhausted.body
    );
}

#[tokio::test]
async fn what_the_functions_host_poisoned_is_redriven_too() {
    let queue = azurite::new_queue(SETUP.max_receive_count).await;
    // The host moves a message's original text, unwrapped.
    let body = format!("{}:from-host", unique("host-poison"));
    poison_of(&queue)
        .send(vec![OutgoingMessage {
            body: body.clone(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("poison a message as the host does");
    assert_eq!(queue.redrive_dead_letters(10).await.expect("redrive"), 1);
    let back = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, body);
    assert_eq!(back[0].receive_count, 1);
}

#[test]
fn message_text_is_base64_as_the_functions_trigger_reads_it() {
    let body = r#"{"notificationId":"n-1"}"#;
    assert_eq!(text::encode(body), "eyJub3RpZmljYXRpb25JZCI6Im4tMSJ9");
}
