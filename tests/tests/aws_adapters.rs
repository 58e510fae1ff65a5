//! The AWS adapters against the port suites, on the moto server that
//! `scripts/test` starts: the DynamoDB store and the SQS queue must behave
//! exactly as the embedded ones do (one suite, two backends), plus what
//! only they involve: real concurrent conditional writes, the dead-letter
//! queue as SQS redrives to it, batches over SQS's ten-message limit, the
//! tracing attribute every message carries, and counts that cost the same
//! requests whatever the audience.
//!
//! Each test makes its own table or queue, so they run in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use futures::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;
use nudge::ids::{ConversationKey, NotificationId};
use nudge::queue::sqs::{SqsQueue, ORIGIN_ATTRIBUTE};
use nudge::queue::{OutgoingMessage, Queue};
use nudge::store::dynamodb::keys::SHARDS;
use nudge::store::dynamodb::DynamoStore;
use nudge::store::prelude::*;
use nudge::store::{DeliveryClaim, DeliveryStatus, StoreError};
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

/// The work a DynamoDB client asks for: requests sent, and items read
/// (what DynamoDB bills a read by): a query's scanned items, a get's item,
/// a batch get's items, from each response.
#[derive(Debug, Clone, Default)]
struct Work {
    requests: Arc<AtomicUsize>,
    items: Arc<AtomicUsize>,
}

impl Intercept for Work {
    fn name(&self) -> &'static str {
        "Work"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let body = context.response().body().bytes().unwrap_or_default();
        let response: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let scanned = response["ScannedCount"].as_u64().unwrap_or(0) as usize;
        let got = usize::from(response.get("Item").is_some());
        let batch: usize = response["Responses"].as_object().map_or(0, |tables| {
            tables
                .values()
                .filter_map(|t| t.as_array())
                .map(Vec::len)
                .sum()
        });
        self.items
            .fetch_add(scanned + got + batch, Ordering::SeqCst);
        Ok(())
    }
}

/// Requests sent and items read by one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    requests: usize,
    items: usize,
}

impl Work {
    fn now(&self) -> Cost {
        Cost {
            requests: self.requests.load(Ordering::SeqCst),
            items: self.items.load(Ordering::SeqCst),
        }
    }

    /// What `call` cost.
    async fn of<T>(&self, call: impl std::future::Future<Output = T>) -> (T, Cost) {
        let before = self.now();
        let answer = call.await;
        let after = self.now();
        let cost = Cost {
            requests: after.requests - before.requests,
            items: after.items - before.items,
        };
        (answer, cost)
    }
}

/// The large audience of [`counts_cost_the_same_for_3_and_300_recipients`].
/// Making it costs moto about half a minute (it copies a whole table for
/// every transaction), the count itself one request.
const LARGE: usize = 300;

/// The webhook API's counts (a tag's subscribers, everyone subscribed, a
/// fan-out's deliveries by status) read counters, not the audience: they
/// send the same requests for 3 recipients as for 300, and read at most a
/// counter's shards (fewer when a small audience leaves some unwritten).
/// A listing of the 300, for contrast, reads every one of them.
#[tokio::test]
async fn counts_cost_the_same_for_3_and_300_recipients() {
    let config = moto::sdk_config().await;
    let work = Work::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(work.clone())
            .build(),
    );
    // Subscribers and the fan-out in tables of their own: moto copies a
    // whole table for every transaction, so small tables keep this quick.
    let store = async || DynamoStore::new(client.clone(), moto::new_table(&config).await);
    let mut costs = Vec::new();
    for audience in [3, LARGE] {
        let (subscribers, fan_out) = (store().await, store().await);
        let tag = subscribed(&subscribers, audience).await;
        let parent = fanned_out(&fan_out, audience).await;

        let (count, tag_cost) = work.of(subscribers.count_subscribers(Some(&tag))).await;
        assert_eq!(count.expect("count_subscribers"), audience as u64);
        let (count, anyone_cost) = work.of(subscribers.count_subscribers(None)).await;
        assert_eq!(count.expect("count_subscribers"), audience as u64);
        let (counts, children_cost) = work.of(fan_out.count_child_deliveries(&parent)).await;
        let counts = counts.expect("count_child_deliveries");
        let sent = audience.div_ceil(3) as u64;
        assert_eq!(
            (counts.sent, counts.pending),
            (sent, audience as u64 - sent)
        );
        costs.push([tag_cost, anyone_cost, children_cost]);

        let (listed, listing_cost) = work
            .of(subscribers.subscribers(Some(&tag), None, 1000))
            .await;
        assert_eq!(listed.expect("subscribers").items.len(), audience);
        assert!(
            listing_cost.items >= audience,
            "the work measure sees a listing read its {audience} items: {listing_cost:?}"
        );
    }
    let requests = |costs: &[Cost; 3]| costs.map(|cost| cost.requests);
    assert_eq!(
        requests(&costs[0]),
        requests(&costs[1]),
        "(tag, anyone, fan-out) counts of 300 recipients send the requests those of 3 do"
    );
    for cost in costs.iter().flatten() {
        assert!(
            cost.requests == 1 && cost.items <= SHARDS as usize,
            "a count is one read of at most a counter's {SHARDS} shards: {costs:?}"
        );
    }
}

/// `audience` conversations subscribed to a new tag; returns the tag.
async fn subscribed(store: &DynamoStore, audience: usize) -> String {
    let tag = unique("audience");
    let (now, tag_ref) = (Timestamp::now(), &tag);
    stream::iter(0..audience)
        .map(|n| async move { store.subscribe(&recipient(n), Some(tag_ref), now).await })
        .buffer_unordered(16)
        .try_collect::<Vec<bool>>()
        .await
        .expect("subscribe the audience");
    tag
}

/// A fan-out to `audience` recipients whose every third delivery was sent
/// and the rest are pending; returns its id.
async fn fanned_out(store: &DynamoStore, audience: usize) -> NotificationId {
    let parent: NotificationId = unique("fan-out").parse().expect("an id");
    let now = Timestamp::now();
    let lease = now + jiff::SignedDuration::from_secs(60);
    let parent = &parent;
    stream::iter(0..audience)
        .map(|n| async move {
            let key = recipient(n);
            let child = parent.child(&key.to_string());
            let claim = store.begin_delivery(&child, Some(&key), now, lease).await?;
            let DeliveryClaim::Proceed(mut record) = claim else {
                panic!("a first claim proceeds, got {claim:?}");
            };
            if n % 3 == 0 {
                record.status = DeliveryStatus::Sent;
                store.put_delivery(&record).await?;
            }
            Ok::<_, StoreError>(())
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .expect("fan out to the audience");
    parent.clone()
}

fn recipient(n: usize) -> ConversationKey {
    ConversationKey::new("audience", &format!("c{n:04}")).expect("a key")
}

fn message(body: &str) -> OutgoingMessage {
    OutgoingMessage {
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

/// DynamoDB deletes what has outlived its retention through the table's
/// TTL, so the maintenance tick's purge does nothing there: a finished job
/// carries its expiry (a retention after it finished), a running one none.
#[tokio::test]
async fn finished_jobs_expire_through_the_ttl_on_dynamodb() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use nudge::store::dynamodb::keys::{job_pk, EXPIRES_AT, JOB_SK, PK, SK};
    use nudge::store::{Cutoffs, JobStatus, Purged};

    let config = moto::sdk_config().await;
    let table = moto::new_table(&config).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let retention = jiff::SignedDuration::from_hours(48);
    let store = DynamoStore::new(client.clone(), table.clone()).with_delivery_retention(retention);
    let owner = ConversationKey::new("emulator", "ttl").unwrap();
    let job = suites::store::job(&owner, Timestamp::now());
    store.insert_job(&job).await.unwrap();
    let expiry = || async {
        let item = client
            .get_item()
            .table_name(&table)
            .key(PK, AttributeValue::S(job_pk(&job.id)))
            .key(SK, AttributeValue::S(JOB_SK.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the job's item");
        item.get(EXPIRES_AT)
            .map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
    };
    assert_eq!(expiry().await, None, "a running job does not expire");
    let finished = Timestamp::from_second(1_800_000_000).unwrap();
    store
        .transition_job(
            &job.id,
            &[JobStatus::Running],
            JobStatus::Complete,
            finished,
        )
        .await
        .unwrap();
    assert_eq!(
        expiry().await,
        Some((finished + retention).as_second()),
        "a finished job expires a retention after it finished"
    );
    assert_eq!(
        store
            .purge_expired(&Cutoffs::at(Timestamp::now(), retention), 100)
            .await
            .unwrap(),
        Purged::default()
    );
}
