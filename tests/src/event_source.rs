//! Lambda's SQS event source, played against moto: for each function
//! instance, a poll loop of its own that receives a batch (up to 10
//! messages, with the visibility timeout the mapping would use), invokes
//! the instance with it, and deletes every record the partial batch
//! response (`batchItemFailures`) does not name, leaving those for retry
//! as Lambda's does.
//!
//! Real Lambda runs several pollers per mapping and scales the number of
//! concurrent instances with the backlog; here the number is fixed by how
//! many [`LambdaFunction`]s are given, and [`EventSource::add`] adds one
//! (a replacement for an instance [`EventSource::kill`] killed mid-batch,
//! as a crash would). The loops stop (and the instances they own are
//! dropped, killing their processes) when the [`EventSource`] is dropped.
//!
//! The loops poll without waiting on the queue ([`IDLE`] apart) rather
//! than long-polling: moto's long poll wakes on a send, but not when a
//! message's visibility runs out, so a message the notifier hid until its
//! rate-limit slot would come back up to the poll's whole second late.
//! Lambda's pollers take a message as soon as it is visible, and so do
//! these, within [`IDLE`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::events;
use crate::lambda::LambdaFunction;

/// How long a loop rests after a receive that found nothing.
pub const IDLE: Duration = Duration::from_millis(100);

/// The event source of one queue for one or more concurrent instances of a
/// function; it stops polling when dropped.
pub struct EventSource {
    stop: Arc<AtomicBool>,
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    visibility_timeout: Duration,
    /// Per instance, in the order started: how to reach its loop.
    instances: Mutex<Vec<Instance>>,
}

/// What the event source keeps of one instance's loop.
struct Instance {
    /// Invocations the instance has begun.
    invocations: Arc<AtomicUsize>,
    /// Asks the loop to kill its instance; answered once it has.
    kill: Option<oneshot::Sender<oneshot::Sender<()>>>,
}

impl EventSource {
    /// Starts one poll loop per instance on the queue at `url` (whose ARN,
    /// `arn`, goes into the records), receiving with `visibility_timeout`.
    pub fn start(
        config: &SdkConfig,
        url: &str,
        arn: &str,
        instances: Vec<LambdaFunction>,
        visibility_timeout: Duration,
    ) -> EventSource {
        let source = EventSource {
            stop: Arc::new(AtomicBool::new(false)),
            sqs: aws_sdk_sqs::Client::new(config),
            url: url.to_owned(),
            arn: arn.to_owned(),
            visibility_timeout,
            instances: Mutex::new(Vec::new()),
        };
        for instance in instances {
            source.add(instance);
        }
        source
    }

    /// Starts a poll loop for one more instance (Lambda scaling out, or a
    /// replacement for a killed one); returns its index.
    pub fn add(&self, instance: LambdaFunction) -> usize {
        let invocations = Arc::new(AtomicUsize::new(0));
        let (kill, killed) = oneshot::channel();
        tokio::spawn(poll(
            Loop {
                sqs: self.sqs.clone(),
                url: self.url.clone(),
                arn: self.arn.clone(),
                visibility_timeout: self.visibility_timeout,
                stop: self.stop.clone(),
                invocations: invocations.clone(),
            },
            instance,
            killed,
        ));
        let mut instances = self.instances.lock().expect("lock");
        instances.push(Instance {
            invocations,
            kill: Some(kill),
        });
        instances.len() - 1
    }

    /// Kills instance `index` mid-batch, as a crash would: waits for it to
    /// begin its next invocation, then for `moment` (say, until the channel
    /// has sends in flight), then SIGKILLs its function process at once.
    /// Its loop ends there, deleting nothing: the records of that batch
    /// come back when the visibility timeout runs out. Returns once the
    /// process has been sent the signal.
    pub async fn kill(&self, index: usize, moment: impl std::future::Future<Output = ()>) {
        const PATIENCE: Duration = Duration::from_secs(30);
        let invocations = self.instances.lock().expect("lock")[index]
            .invocations
            .clone();
        let begun = invocations.load(Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while invocations.load(Ordering::SeqCst) == begun {
            assert!(
                tokio::time::Instant::now() < deadline,
                "instance {index} began no invocation within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::timeout(PATIENCE, moment)
            .await
            .unwrap_or_else(|_| {
                panic!("the moment to kill instance {index} did not come within {PATIENCE:?}")
            });
        let kill = self.instances.lock().expect("lock")[index]
            .kill
            .take()
            .unwrap_or_else(|| panic!("instance {index} was killed already"));
        let (done, killed) = oneshot::channel();
        kill.send(done).expect("the instance's loop is running");
        killed.await.expect("the loop kills its instance");
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What one instance's loop works with.
struct Loop {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    visibility_timeout: Duration,
    stop: Arc<AtomicBool>,
    invocations: Arc<AtomicUsize>,
}

/// One instance's loop, until the source stops or the instance is killed.
async fn poll(
    polling: Loop,
    instance: LambdaFunction,
    killed: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let pid = instance.function_pid();
    tokio::select! {
        () = batches(&polling, &instance) => {}
        Ok(done) = killed => {
            if let Some(pid) = pid {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = done.send(());
        }
    }
}

/// Receive a batch, invoke, delete every record the partial batch response
/// does not name; again.
async fn batches(polling: &Loop, instance: &LambdaFunction) {
    let visibility = i32::try_from(polling.visibility_timeout.as_secs()).unwrap_or(i32::MAX);
    while !polling.stop.load(Ordering::SeqCst) {
        let received = polling
            .sqs
            .receive_message()
            .queue_url(&polling.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map(|r| r.messages.unwrap_or_default())
            .unwrap_or_default();
        if received.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        polling.invocations.fetch_add(1, Ordering::SeqCst);
        let event = events::sqs_event(&received, &polling.arn);
        match instance.try_invoke(&event).await {
            Ok(response) => delete_done(polling, &received, &retried(&response)).await,
            // As Lambda does: the whole batch comes back once its visibility
            // timeout runs out.
            Err(problem) => eprintln!("[event source] {problem}; the batch will come back"),
        }
    }
}

/// Deletes every received message the response did not name for retry, in
/// batches of ten as Lambda's event source does.
async fn delete_done(polling: &Loop, received: &[Message], retried: &[String]) {
    let done: Vec<DeleteMessageBatchRequestEntry> = received
        .iter()
        .filter(|m| !retried.contains(&m.message_id.clone().unwrap_or_default()))
        .enumerate()
        .filter_map(|(n, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .build()
                .ok()
        })
        .collect();
    for chunk in done.chunks(10) {
        let _ = polling
            .sqs
            .delete_message_batch()
            .queue_url(&polling.url)
            .set_entries(Some(chunk.to_vec()))
            .send()
            .await;
    }
}

/// The message ids a partial batch response names for retry.
pub fn retried(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|failures| {
            failures
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
