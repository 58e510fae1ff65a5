//! The delivery suite ([`nudge_tests::delivery`]) on the Lambda notifier:
//! the real `notifier` binary under the Lambda runtime emulator, DynamoDB
//! and SQS on moto, and a stand-in for the SQS event source that receives
//! batches, invokes the function and deletes what it did not name for
//! retry, as Lambda's does. One stack per check, so they run in parallel.
//!
//! The rate-limit checks run on the local host only: they take a minute
//! each and exercise the same `delivery` code and store rule, which the
//! store suite checks on DynamoDB.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use nudge::queue::sqs::SqsQueue;
use nudge::store::dynamodb::DynamoStore;
use nudge_tests::channel::FakeChannel;
use nudge_tests::delivery::{self, Rig, RIG_ENV};
use nudge_tests::entra::FakeEntra;
use nudge_tests::events;
use nudge_tests::lambda::LambdaFunction;
use nudge_tests::moto::{self, TestQueue};
use nudge_tests::suites::unique;
use nudge_tests::tls::{ca_file, TlsFront};
use serde_json::{json, Value};

const APP_ID: &str = "00000000-0000-0000-0000-00000000d311";

struct LambdaRig {
    channel: FakeChannel,
    front: TlsFront,
    store: DynamoStore,
    queue: SqsQueue,
    stop: Arc<AtomicBool>,
    _entra: FakeEntra,
}

impl LambdaRig {
    async fn start() -> LambdaRig {
        let config = moto::sdk_config().await;
        let table = moto::new_table(&config).await;
        let queue = TestQueue::create(&config, 10).await;
        let entra = FakeEntra::start().await;
        let channel = FakeChannel::start().await;
        let address = channel
            .service_url()
            .trim_start_matches("http://")
            .parse()
            .expect("a socket address");
        let front = TlsFront::start(address).await;
        let mut env: Vec<(&str, String)> = moto::function_env();
        env.extend([
            ("NUDGE_TABLE_NAME", table.clone()),
            ("NUDGE_QUEUE_URL", queue.url.clone()),
            ("NUDGE_DEAD_LETTER_QUEUE_URL", queue.dead_letter_url.clone()),
            ("NUDGE_SECRET_ARN", create_secret(&config).await),
            ("MicrosoftAppId", APP_ID.to_owned()),
            (
                "ToChannelFromBotLoginUrl",
                entra.login_url("botframework.com"),
            ),
            ("SSL_CERT_FILE", ca_file().display().to_string()),
            ("NUDGE_LOG", "info,nudge=debug".to_owned()),
        ]);
        env.extend(RIG_ENV.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let notifier = LambdaFunction::start("notifier", &env).await;
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn(event_source(
            config.clone(),
            queue.url.clone(),
            queue.arn.clone(),
            notifier,
            stop.clone(),
        ));
        LambdaRig {
            channel,
            front,
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table),
            queue: queue.adapter(&config),
            stop,
            _entra: entra,
        }
    }

    fn rig(&self) -> Rig<'_> {
        Rig {
            channel: &self.channel,
            service_url: self.front.url(),
            store: &self.store,
            queue: &self.queue,
        }
    }
}

impl Drop for LambdaRig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Lambda's SQS event source, played: receive a batch, invoke, delete
/// every record the partial batch response does not name.
async fn event_source(
    config: SdkConfig,
    url: String,
    arn: String,
    notifier: LambdaFunction,
    stop: Arc<AtomicBool>,
) {
    let sqs = aws_sdk_sqs::Client::new(&config);
    while !stop.load(Ordering::SeqCst) {
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map(|r| r.messages.unwrap_or_default())
            .unwrap_or_default();
        if received.is_empty() {
            continue;
        }
        let response = notifier.invoke(&events::sqs_event(&received, &arn)).await;
        let retried = retried(&response);
        for message in &received {
            if !retried.contains(&message.message_id.clone().unwrap_or_default()) {
                let _ = sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await;
            }
        }
    }
}

fn retried(response: &Value) -> Vec<String> {
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

async fn create_secret(config: &SdkConfig) -> String {
    aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(unique("secret"))
        .secret_string(json!({"MicrosoftAppPassword": "delivery-suite"}).to_string())
        .send()
        .await
        .expect("create the secret on moto")
        .arn
        .expect("the secret's ARN")
}

macro_rules! lambda_suite {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let stack = LambdaRig::start().await;
                delivery::$check(&stack.rig()).await;
            }
        )*
    };
}

lambda_suite!(
    transient_failures_are_retried_until_sent,
    terminal_errors_are_final,
    exhausted_retries_dead_letter_and_redrive,
    duplicates_are_sent_once,
    a_cancelled_reminder_is_not_sent,
);
