//! The AWS adapters against the port suites, on the moto server that
//! `scripts/test` starts: the DynamoDB store and the SQS queue must behave
//! exactly as the embedded ones do (one suite, two backends), plus what
//! only they involve: real concurrent conditional writes, the dead-letter
//! queue as SQS redrives to it, batches over SQS's ten-message limit, and
//! the tracing attribute every message carries.
//!
//! Each test makes its own table or queue, so they run in parallel.

use std::time::Duration;

use nudge::queue::sqs::{SqsQueue, ORIGIN_ATTRIBUTE};
use nudge::queue::{OutgoingMessage, Queue};
use nudge_tests::moto::{self, TestQueue};
use nudge_tests::suites::{self, queue::QueueSetup, unique};

/// The queue suite's setup: dead letters after 3 receives, 1 s timings.
const SETUP: QueueSetup = QueueSetup {
    max_receive_count: 3,
    short: Duration::from_secs(1),
};

#[tokio::test]
async fn the_whole_store_suite_passes_on_dynamodb() {
    let config = moto::sdk_config().await;
    suites::store::run_all(&moto::new_store(&config).await).await;
}

#[tokio::test]
async fn the_whole_queue_suite_passes_on_sqs() {
    let config = moto::sdk_config().await;
    let queue = TestQueue::create(&config, SETUP.max_receive_count).await;
    suites::queue::run_all(&queue.adapter(&config), SETUP).await;
}

#[tokio::test]
async fn concurrent_delivery_claims_on_dynamodb_let_exactly_one_proceed() {
    let config = moto::sdk_config().await;
    let store = moto::new_store(&config).await;
    suites::races::concurrent_claims_of_one_delivery_let_exactly_one_proceed(&store).await;
}

#[tokio::test]
async fn concurrent_job_transitions_on_dynamodb_let_exactly_one_succeed() {
    let config = moto::sdk_config().await;
    let store = moto::new_store(&config).await;
    suites::races::concurrent_transitions_of_one_job_let_exactly_one_succeed(&store).await;
}

#[tokio::test]
async fn exhausted_messages_arrive_on_the_dead_letter_queue() {
    let config = moto::sdk_config().await;
    let queues = TestQueue::create(&config, SETUP.max_receive_count).await;
    suites::queue::dead_letters_after_max_receives(&queues.adapter(&config), SETUP).await;

    let dead_letters = SqsQueue::new(
        aws_sdk_sqs::Client::new(&config),
        &queues.dead_letter_url,
        "nudge-tests",
    );
    let dead = dead_letters
        .receive(10, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive from the dead-letter queue");
    assert!(
        dead.iter().any(|m| m.body.starts_with("suite-dead-")),
        "the suite's exhausted message is on the dead-letter queue: {dead:?}"
    );
}

#[tokio::test]
async fn large_sends_go_out_in_batches_and_carry_their_origin() {
    let config = moto::sdk_config().await;
    let queues = TestQueue::create(&config, SETUP.max_receive_count).await;
    let queue = queues.adapter(&config);
    let prefix = unique("batch");
    let bodies: Vec<String> = (0..25).map(|n| format!("{prefix}-{n:02}")).collect();
    queue
        .send(bodies.iter().map(|b| message(b)).collect())
        .await
        .expect("send 25 messages");

    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut received: Vec<String> = Vec::new();
    for _ in 0..20 {
        let output = sqs
            .receive_message()
            .queue_url(&queues.url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for message in output.messages.unwrap_or_default() {
            let origin = message
                .message_attributes
                .as_ref()
                .and_then(|a| a.get(ORIGIN_ATTRIBUTE))
                .and_then(|v| v.string_value.clone());
            assert_eq!(
                origin.as_deref(),
                Some("nudge-tests"),
                "every message says who sent it"
            );
            received.extend(message.body);
        }
        if received.len() >= bodies.len() {
            break;
        }
    }
    received.sort();
    assert_eq!(received, bodies, "all 25 messages arrive, once each");
}

fn message(body: &str) -> OutgoingMessage {
    OutgoingMessage {
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}
