//! The three Lambda functions as they run on AWS: the real binaries under a
//! Lambda Runtime API emulator, fed API Gateway, SQS and schedule events,
//! on DynamoDB and SQS (moto), with the Bot Framework identity, token
//! endpoint and channel faked (the channel behind HTTPS, since cloud
//! functions send nowhere else).
//!
//! The test plays the parts AWS plays around the functions: API Gateway
//! (it wraps each request in an HTTP API event), the SQS event source (it
//! receives from the queue, invokes the notifier with the batch and deletes
//! what the notifier did not name for retry) and the schedule.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use jiff::Timestamp;
use nudge::activity::Activity;
use nudge::auth::webhook::signature::{sign, Signed, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use nudge::ids::ConversationKey;
use nudge::notification::{Notification, Reason};
use nudge::queue::{OutgoingMessage, Queue};
use nudge::store::dynamodb::DynamoStore;
use nudge::store::prelude::*;
use nudge::store::DeliveryStatus;
use nudge_tests::channel::{FakeChannel, Scripted};
use nudge_tests::client::BotClient;
use nudge_tests::entra::FakeEntra;
use nudge_tests::events;
use nudge_tests::lambda::LambdaFunction;
use nudge_tests::moto::{self, TestQueue};
use nudge_tests::openid::{channel_bearer, OpenIdServer, APP_ID};
use nudge_tests::secured::APP_PASSWORD;
use nudge_tests::server::address_of;
use nudge_tests::stack_env::stack_env;
use nudge_tests::suites::unique;
use nudge_tests::tls::TlsFront;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);

/// The webhook secret the deployment's secret holds.
const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// A deployment: resources on moto, the fakes, and the functions asked for.
struct Stack {
    config: SdkConfig,
    table: String,
    queue: TestQueue,
    _openid: OpenIdServer,
    _entra: FakeEntra,
    channel: FakeChannel,
    front: TlsFront,
    /// HTTPS in front of moto: the functions reach AWS only over TLS, as
    /// in a deployment, trusting the test CA their `SSL_CERT_FILE` names.
    _aws_front: TlsFront,
    messages: LambdaFunction,
    notifier: LambdaFunction,
    reminder: Option<LambdaFunction>,
}

impl Stack {
    async fn start(with_reminder: bool) -> Stack {
        let config = moto::sdk_config().await;
        let table = moto::new_table(&config).await;
        let queue = TestQueue::create(&config, 5).await;
        let openid = OpenIdServer::start().await;
        let entra = FakeEntra::start().await;
        let channel = FakeChannel::start().await;
        let front = TlsFront::start(address_of(channel.service_url())).await;
        let secret = json!({
            "MicrosoftAppPassword": APP_PASSWORD,
            "NUDGE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        });
        let mut env = stack_env(&config, &table, &queue, &entra, APP_ID, secret).await;
        env.push(("NUDGE_LOG", "info,nudge=debug".to_owned()));
        env.extend(openid.env());
        let aws_front = TlsFront::start(address_of(&moto::endpoint())).await;
        env.push(("AWS_ENDPOINT_URL", aws_front.url().to_owned()));
        let messages = LambdaFunction::start("messages", &env).await;
        let notifier = LambdaFunction::start("notifier", &env).await;
        let reminder = if with_reminder {
            Some(LambdaFunction::start("reminder", &env).await)
        } else {
            None
        };
        Stack {
            config,
            table,
            queue,
            _openid: openid,
            _entra: entra,
            channel,
            front,
            _aws_front: aws_front,
            messages,
            notifier,
            reminder,
        }
    }

    fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.config), &self.table)
    }

    /// Sends a request through API Gateway; returns the status and the
    /// body (as JSON when it is JSON).
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (u16, Value) {
        let event = events::http_request(method, path, headers, body);
        let response = self.messages.invoke(&event).await;
        let status = response["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("an API Gateway response: {response}"));
        let body = response["body"].as_str().unwrap_or_default();
        let body = serde_json::from_str(body).unwrap_or_else(|_| json!(body));
        (status, body)
    }

    /// Says `text` in `conversation` through API Gateway, from a channel
    /// at `service_url`, with a valid Bot Connector token.
    async fn say_from(&self, service_url: &str, conversation: &str, text: &str) -> u16 {
        let activity = BotClient::new("unused", service_url).message(conversation, text);
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("authorization", channel_bearer(service_url)),
        ];
        let (status, body) = self
            .request("POST", "/api/messages", &headers, &activity.to_string())
            .await;
        assert_eq!(status, 200, "saying `{text}`: {body}");
        status
    }

    /// Says `text` and waits for a message in the conversation containing
    /// `expect`.
    async fn ask(&self, conversation: &str, text: &str, expect: &str) -> String {
        let mark = self.channel.texts(conversation).len();
        self.say_from(self.front.url(), conversation, text).await;
        self.channel
            .wait_for_text_after(conversation, mark, expect, WAIT)
            .await
    }

    /// Plays the SQS event source once: receives what is on the queue,
    /// invokes the notifier with it, deletes what it did not name for
    /// retry. Returns the received messages' ids and bodies, and the
    /// notifier's response.
    async fn deliver(&self) -> (Vec<(String, String)>, Value) {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let received = sqs
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(5)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive from the queue")
            .messages
            .unwrap_or_default();
        assert!(
            !received.is_empty(),
            "a notification is waiting on the queue"
        );
        let response = self
            .notifier
            .invoke(&events::sqs_event(&received, &self.queue.arn))
            .await;
        let retried = failed_ids(&response);
        for message in &received {
            let id = message.message_id.clone().unwrap_or_default();
            if !retried.contains(&id) {
                sqs.delete_message()
                    .queue_url(&self.queue.url)
                    .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete a processed message");
            }
        }
        let messages = received
            .into_iter()
            .map(|m| (m.message_id.unwrap_or_default(), m.body.unwrap_or_default()))
            .collect();
        (messages, response)
    }
}

#[tokio::test]
async fn the_messages_function_answers_as_the_local_host_does() {
    let stack = Stack::start(false).await;
    let json = || ("content-type", "application/json".to_owned());
    let code = |body: &Value| {
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let (status, body) = stack.request("GET", "/healthz", &[], "").await;
    assert_eq!((status, body), (200, json!("ok")));
    let (status, body) = stack.request("GET", "/nowhere", &[], "").await;
    assert_eq!((status, code(&body).as_str()), (404, "NotFound"), "{body}");

    let activity = BotClient::new("unused", stack.front.url()).message("c", "hi");
    let (status, body) = stack
        .request("POST", "/api/messages", &[json()], &activity.to_string())
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "Unauthorized"),
        "no token: {body}"
    );
    let token = ("authorization", channel_bearer(stack.front.url()));
    let (status, body) = stack
        .request("POST", "/api/messages", &[json(), token], "{not json")
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "MalformedJson"),
        "{body}"
    );

    let broadcast = json!({"text": "Deploy finished"}).to_string();
    let (status, body) = stack
        .request("POST", "/api/notify", &[json()], &broadcast)
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "Unauthorized"),
        "unsigned: {body}"
    );
    let timestamp = Timestamp::now().as_second().to_string();
    let signed = [
        json(),
        (TIMESTAMP_HEADER, timestamp.clone()),
        (
            SIGNATURE_HEADER,
            sign(
                WEBHOOK_SECRET.as_bytes(),
                &Signed {
                    timestamp: &timestamp,
                    method: "POST",
                    target: "/api/notify",
                    body: broadcast.as_bytes(),
                },
            ),
        ),
    ];
    let (status, body) = stack
        .request("POST", "/api/notify", &signed, &broadcast)
        .await;
    assert_eq!(status, 202, "a signed broadcast is accepted: {body}");
    assert_eq!(body["recipients"], 0, "{body}");
    let (status, body) = stack
        .request("POST", "/api/notify", &signed, &broadcast)
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (409, "SignatureReplayed"),
        "the replay cache in DynamoDB refuses the same signed request: {body}"
    );
}

#[tokio::test]
async fn the_job_scenario_runs_on_lambda() {
    let stack = Stack::start(false).await;
    let (owner, other) = (unique("owner"), unique("other"));
    let started = stack.ask(&owner, "run", "We're starting job").await;
    let job = started
        .split_whitespace()
        .nth(3)
        .expect("the reply names the job")
        .to_owned();

    stack
        .ask(
            &other,
            &format!("done {job}"),
            &format!("Completing job {job}."),
        )
        .await;
    let (_, response) = stack.deliver().await;
    assert_eq!(failed_ids(&response), Vec::<String>::new(), "{response}");
    stack
        .channel
        .wait_for_text(&owner, &format!("Job {job} is complete."), WAIT)
        .await;
}

#[tokio::test]
async fn a_reminder_fires_through_the_schedule() {
    let stack = Stack::start(true).await;
    let reminder = stack.reminder.as_ref().expect("the reminder function");
    let conversation = unique("remind");
    stack
        .ask(
            &conversation,
            "remind me in 2 seconds to stretch",
            "stretch",
        )
        .await;
    let idle = reminder
        .invoke(&events::scheduler_input(Timestamp::now()))
        .await;
    assert_eq!(idle["due"], 0, "nothing is due yet: {idle}");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let fired = reminder
        .invoke(&events::scheduled_event(Timestamp::now()))
        .await;
    assert_eq!(
        (fired["due"].clone(), fired["enqueued"].clone()),
        (json!(1), json!(1)),
        "{fired}"
    );
    let mark = stack.channel.texts(&conversation).len();
    stack.deliver().await;
    stack
        .channel
        .wait_for_text_after(&conversation, mark, "stretch", WAIT)
        .await;
}

#[tokio::test]
async fn a_batch_reports_exactly_the_record_to_retry() {
    let stack = Stack::start(false).await;
    // A second channel that is down (503), for one conversation.
    let broken = FakeChannel::start().await;
    let broken_front = TlsFront::start(address_of(broken.service_url())).await;
    let (healthy, failing) = (unique("healthy"), unique("failing"));
    stack.ask(&healthy, "help", "").await;
    stack.say_from(broken_front.url(), &failing, "help").await;
    broken
        .wait_for("the help reply", WAIT, |r| r.conversation_id == failing)
        .await;
    broken.respond_with((0..20).map(|_| Scripted {
        status: 503,
        body: json!({"error": {"code": "ServiceUnavailable", "message": "down"}}),
        headers: Vec::new(),
    }));

    let to = |conversation: &str, text: &str| {
        let key = ConversationKey::new("emulator", conversation).expect("a key");
        let notification =
            Notification::to_conversation(key, Activity::message(text), Reason::Broadcast);
        OutgoingMessage {
            body: serde_json::to_string(&notification).expect("json"),
            delay: Duration::ZERO,
        }
    };
    let failing_notification = to(&failing, "to the broken channel");
    let queue = stack.queue.adapter(&stack.config);
    queue
        .send(vec![
            to(&healthy, "to the healthy channel"),
            failing_notification.clone(),
            OutgoingMessage {
                body: "this is not a notification".into(),
                delay: Duration::ZERO,
            },
        ])
        .await
        .expect("send the batch");

    let (batch, response) = stack.deliver().await;
    assert_eq!(batch.len(), 3, "the batch holds all three records");
    let failing_message = batch
        .iter()
        .find(|(_, body)| *body == failing_notification.body)
        .map(|(id, _)| id.clone())
        .expect("the failing notification is in the batch");
    assert_eq!(
        failed_ids(&response),
        [failing_message],
        "exactly the record whose channel is down is retried; the unreadable one is not"
    );
    stack
        .channel
        .wait_for_text(&healthy, "to the healthy channel", WAIT)
        .await;
    let failing_id: Notification =
        serde_json::from_str(&failing_notification.body).expect("notification");
    let record = stack
        .store()
        .get_delivery(&failing_id.id)
        .await
        .expect("get_delivery")
        .expect("the failing delivery is recorded");
    assert_eq!(record.status, DeliveryStatus::Retrying, "{record:?}");
    assert_eq!(record.status_codes, [503]);
}

/// The ids a partial batch response names for retry.
fn failed_ids(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("a partial batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_owned())
        .collect()
}
