//! The Azure custom handler as a Function App runs it: the real `handler`
//! binary under our own Functions host (`nudge_tests::functions_host`), on
//! Azurite's queues and tables, with the Bot Framework identity, token
//! endpoint and channel faked (the channel behind HTTPS, since cloud hosts
//! send nowhere else).

use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

use nudge::azure_storage::StorageAccount;
use nudge::queue::azure::AzureQueue;
use nudge::queue::Queue;
use nudge_tests::azurite::{self, OAuthAzurite};
use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::delivery::RIG_JITTER_MS;
use nudge_tests::entra::{FakeEntra, STORAGE_RESOURCE};
use nudge_tests::functions_host::{Encoding, FunctionsHost};
use nudge_tests::openid::{channel_bearer, OpenIdServer, APP_ID};
use nudge_tests::secured::APP_PASSWORD;
use nudge_tests::server::{address_of, free_port};
use nudge_tests::suites::unique;
use nudge_tests::tls::{ca_file, TlsFront};

const WAIT: Duration = Duration::from_secs(15);

/// A Function App: the handler, its storage, and the fakes around it.
struct App {
    host: FunctionsHost,
    /// The handler's settings.
    env: Vec<(&'static str, String)>,
    /// The handler's table, as the test reaches it.
    store: nudge::store::azure_table::AzureTableStore,
    queue: AzureQueue,
    channel: FakeChannel,
    front: TlsFront,
    /// The bot's token endpoint, and the host's managed-identity endpoint.
    entra: FakeEntra,
    _openid: OpenIdServer,
}

/// The app's `NUDGE_WEBHOOK_SECRETS`.
const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// What the host gives the handler in `IDENTITY_HEADER`.
const IDENTITY_HEADER: &str = "host-issued-header";

/// Where the handler's storage is: what the handler is told, and how the
/// test reaches the same account.
struct Storage {
    env: Vec<(&'static str, String)>,
    account: StorageAccount,
    http: reqwest::Client,
    /// The handler signs with the host's managed identity (from the fake
    /// identity endpoint), not a key.
    identity: bool,
}

impl Storage {
    /// The shared Azurite, through a connection string (its key).
    fn connection_string() -> Storage {
        Storage {
            env: vec![("AzureWebJobsStorage", azurite::connection_string())],
            account: azurite::account(),
            http: nudge_tests::http::client(),
            identity: false,
        }
    }
}

impl App {
    async fn start() -> App {
        App::start_on(Storage::connection_string(), &[]).await
    }

    /// An app on `storage`, with `extra` settings besides the test's own.
    async fn start_on(storage: Storage, extra: &[(&'static str, &str)]) -> App {
        let openid = OpenIdServer::start().await;
        let entra = FakeEntra::start().await;
        let channel = FakeChannel::start().await;
        let front = TlsFront::start(address_of(channel.service_url())).await;
        let queue_name = unique("q").to_ascii_lowercase();
        let table_name: String = unique("t")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let store = nudge::store::azure_table::AzureTableStore::new(
            nudge::store::azure_table::rest::TableClient::new(
                storage.http.clone(),
                storage.account.table_endpoint.clone(),
                &table_name,
                nudge::azure_storage::Credential::for_account(&storage.account, None),
            ),
        );
        let mut env = storage.env;
        if storage.identity {
            env.push(("IDENTITY_ENDPOINT", entra.msi_url()));
            env.push(("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()));
        }
        env.extend([
            ("NUDGE_QUEUE_NAME", queue_name.clone()),
            ("NUDGE_TABLE_NAME", table_name),
            ("MicrosoftAppId", APP_ID.to_owned()),
            ("MicrosoftAppPassword", APP_PASSWORD.to_owned()),
            (
                "ToChannelFromBotLoginUrl",
                entra.login_url("botframework.com"),
            ),
            ("NUDGE_WEBHOOK_SECRETS", WEBHOOK_SECRET.to_owned()),
            ("SSL_CERT_FILE", ca_file().display().to_string()),
            ("NUDGE_RATE_JITTER_MS", RIG_JITTER_MS.to_owned()),
            ("NUDGE_LOG", "info,nudge=debug".to_owned()),
            // The template's queue messages carry their own service URL,
            // vouched for by no token: the test channel's must be listed.
            ("NUDGE_TRUSTED_SERVICE_HOSTS", "default,loopback".to_owned()),
        ]);
        env.extend(openid.env());
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let host = FunctionsHost::start(&env).await;
        // The handler answers the ping before its queue and table exist;
        // any other request waits for them. The test writes to the table
        // itself, so it waits too.
        let (status, _) = host
            .request(Method::GET, "/healthz", &[], String::new())
            .await;
        assert_eq!(status, 200, "the handler is ready");
        // The host's view of the queue: poisoned after maxDequeueCount (5).
        let queue = AzureQueue::new(&storage.account, &queue_name, storage.http, None, 5)
            .expect("a queue client");
        App {
            host,
            env,
            store,
            queue,
            channel,
            front,
            entra,
            _openid: openid,
        }
    }

    /// A new handler process in place of the old one (which the host saw
    /// die), on the same settings and storage.
    async fn restart_handler(&mut self) {
        self.host = FunctionsHost::start(&self.env).await;
    }

    /// A webhook call to `target` (`/api/notify`, ...) signed with the
    /// app's webhook secret: the status and body.
    async fn signed(&self, target: &str, body: &Value) -> (u16, Value) {
        use nudge::auth::webhook::signature::{sign, Signed, SIGNATURE_HEADER, TIMESTAMP_HEADER};
        let body = body.to_string();
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let signature = sign(
            WEBHOOK_SECRET.as_bytes(),
            &Signed {
                timestamp: &timestamp,
                method: "POST",
                target,
                body: body.as_bytes(),
            },
        );
        let headers = [
            ("content-type", "application/json".to_owned()),
            (TIMESTAMP_HEADER, timestamp),
            (SIGNATURE_HEADER, signature),
        ];
        self.host
            .request(Method::POST, target, &headers, body)
            .await
    }

    /// Asserts that no message becomes visible on the queue within `wait`
    /// (it would be hidden for 30 s if one did).
    async fn assert_nothing_queued(&self, wait: Duration, why: &str) {
        let found = self
            .queue
            .receive(10, Duration::from_secs(30), wait)
            .await
            .expect("receive");
        assert!(found.is_empty(), "{why}: {found:?}");
    }

    /// Plays the queue trigger until `done` holds; fails after `within`.
    async fn deliver_until(&self, what: &str, within: Duration, done: impl Fn() -> bool) {
        let started = std::time::Instant::now();
        while !done() {
            assert!(
                started.elapsed() < within,
                "not delivered within {within:?}: {what}"
            );
            let statuses = self
                .host
                .trigger_queue(&self.queue, 32, Encoding::Base64)
                .await;
            assert!(statuses.iter().all(|s| *s == 200), "{what}: {statuses:?}");
        }
    }

    /// Says `text` in `conversation` through the messages function, with
    /// a valid Bot Connector token, and waits for a message containing
    /// `expect`.
    async fn ask(&self, conversation: &str, text: &str, expect: &str) -> String {
        let mark = self.channel.texts(conversation).len();
        let activity = BotClient::new("unused", self.front.url()).message(conversation, text);
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("authorization", channel_bearer(self.front.url())),
        ];
        let (status, body) = self
            .host
            .request(
                Method::POST,
                "/api/messages",
                &headers,
                activity.to_string(),
            )
            .await;
        assert_eq!(status, 200, "saying `{text}`: {body}");
        self.channel
            .wait_for_text_after(conversation, mark, expect, WAIT)
            .await
    }
}

#[tokio::test]
async fn the_job_scenario_runs_on_the_azure_handler() {
    let app = App::start().await;
    job_scenario(&app).await;
}

/// Storage through the host's managed identity, as `main.bicep` deploys
/// it: no key in the handler's settings, an Azurite that wants HTTPS and
/// Entra tokens (or its key, which only the test holds), and tokens from
/// the identity endpoint the host provides: one, cached, for the queue and
/// the table alike.
#[tokio::test]
async fn the_handler_reaches_storage_with_the_hosts_managed_identity() {
    let azurite = OAuthAzurite::start().await;
    let app = App::start_on(
        Storage {
            env: vec![
                (
                    "AzureWebJobsStorage__queueServiceUri",
                    azurite.queue_service_uri(),
                ),
                (
                    "AzureWebJobsStorage__tableServiceUri",
                    azurite.table_service_uri(),
                ),
                ("AzureWebJobsStorage__credential", "managedidentity".into()),
                ("AzureWebJobsStorage__clientId", "storage-identity".into()),
            ],
            account: azurite.account(),
            http: azurite.http(),
            identity: true,
        },
        &[],
    )
    .await;
    job_scenario(&app).await;

    let storage_tokens: Vec<_> = app
        .entra
        .requests()
        .into_iter()
        .filter(|r| r.params.get("resource").map(String::as_str) == Some(STORAGE_RESOURCE))
        .collect();
    assert_eq!(storage_tokens.len(), 1, "one token serves every request");
    let request = &storage_tokens[0];
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.params.get("client_id").map(String::as_str),
        Some("storage-identity")
    );
    assert_eq!(
        request.headers.get("x-identity-header").map(String::as_str),
        Some(IDENTITY_HEADER)
    );
}

/// `run`, then `done` from the same conversation: the reply in the turn,
/// and the completion through the Storage queue and the notifier.
async fn job_scenario(app: &App) {
    let owner = unique("owner");
    let started = app.ask(&owner, "run", "We're starting job").await;
    let job = started
        .split("job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the reply names the job")
        .to_owned();
    app.ask(
        &owner,
        &format!("done {job}"),
        &format!("Completing job {job}."),
    )
    .await;

    // The completion went to the Storage queue; the queue trigger hands it
    // to the notifier, which sends it.
    let mut statuses = Vec::new();
    for encoding in [Encoding::Base64, Encoding::Text, Encoding::Object] {
        statuses.extend(app.host.trigger_queue(&app.queue, 10, encoding).await);
        if app.channel.count_containing(&owner, "is complete.") > 0 {
            break;
        }
    }
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every invocation succeeded: {statuses:?}"
    );
    app.channel
        .wait_for_text(&owner, &format!("Job {job} is complete."), WAIT)
        .await;
    assert_eq!(app.channel.count_containing(&owner, "is complete."), 1);
}

#[tokio::test]
async fn the_host_pings_and_invokes_and_nothing_else_gets_in() {
    let app = App::start().await;
    let (status, _) = app.host.request(Method::GET, "/", &[], String::new()).await;
    assert_eq!(status, 200, "the start-up ping");
    let (status, body) = app
        .host
        .request(Method::GET, "/healthz", &[], String::new())
        .await;
    assert_eq!((status, body), (200, json!("ok")));

    let (status, answer) = app.host.trigger_timer(true).await;
    assert_eq!(status, 200, "a tick, even past due: {answer}");
    assert!(
        answer["Logs"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("due "),
        "{answer}"
    );
    assert_eq!(answer["ReturnValue"], Value::Null);

    let (status, _) = app
        .host
        .request(Method::POST, "/notifier", &[], "not json".to_owned())
        .await;
    assert_eq!(status, 400, "a body that is no invocation fails it");
    let unreadable = json!({"Data": {"message": 42}, "Metadata": {"Id": "m", "PopReceipt": "p"}});
    let (status, answer) = app
        .host
        .request(Method::POST, "/notifier", &[], unreadable.to_string())
        .await;
    assert_eq!(
        status, 200,
        "a message that can never be read is dropped: {answer}"
    );
    assert!(answer["Logs"][0]
        .as_str()
        .unwrap_or_default()
        .contains("dropped"));

    let (status, body) = app
        .host
        .request(
            Method::POST,
            "/api/notify",
            &[("content-type", "application/json".to_owned())],
            "{}".to_owned(),
        )
        .await;
    assert_eq!(status, 401, "webhooks need their signature: {body}");
    let (status, _) = app
        .host
        .request(
            Method::POST,
            "/api/messages",
            &[("content-type", "application/json".to_owned())],
            BotClient::new("unused", app.front.url())
                .message(&unique("nobody"), "help")
                .to_string(),
        )
        .await;
    assert_eq!(status, 401, "activities need a Bot Connector token");
}

#[tokio::test]
async fn the_proactive_templates_queue_message_is_delivered_once() {
    let app = App::start().await;
    let conversation = unique("template");
    let message = json!({
        "relatesTo": {
            "activityId": "1234",
            "user": {"id": "user-1", "name": "Ann"},
            "bot": {"id": APP_ID, "name": "nudge"},
            "conversation": {"id": conversation},
            "channelId": "msteams",
            "serviceUrl": app.front.url(),
        },
        "text": "from the template",
        "isTrustedServiceUrl": true,
    })
    .to_string();
    // As the template's bot writes it: base64 on the Storage queue, twice
    // (the queue delivers at least once).
    let copy = nudge::queue::OutgoingMessage {
        body: message,
        delay: Duration::ZERO,
    };
    app.queue
        .send(vec![copy.clone(), copy])
        .await
        .expect("send the template's messages");
    let statuses = app
        .host
        .trigger_queue(&app.queue, 10, Encoding::Base64)
        .await;
    assert_eq!(statuses, [200, 200]);
    app.channel
        .wait_for_text(&conversation, "from the template", WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.channel
            .count_containing(&conversation, "from the template"),
        1,
        "the same message twice is sent once"
    );
}

#[tokio::test]
async fn a_reminder_fires_through_the_timer() {
    let app = App::start().await;
    let conversation = unique("remind");
    app.ask(
        &conversation,
        "remind me in 2 seconds to stretch",
        "stretch",
    )
    .await;
    let (status, idle) = app.host.trigger_timer(false).await;
    assert_eq!(
        (status, idle["Logs"][0].as_str()),
        (200, Some("due 0, enqueued 0, advanced 0"))
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, fired) = app.host.trigger_timer(false).await;
    assert_eq!(status, 200);
    assert_eq!(
        fired["Logs"][0].as_str(),
        Some("due 1, enqueued 1, advanced 1"),
        "{fired}"
    );
    let statuses = app
        .host
        .trigger_queue(&app.queue, 10, Encoding::DoubleEncoded)
        .await;
    assert_eq!(statuses, [200]);
    app.channel
        .wait_for_text(&conversation, "Reminder: stretch", WAIT)
        .await;
}

/// A 429 with `Retry-After` and a 503: the handler delays the triggering
/// message itself (its visibility, through the pop receipt) and answers
/// 200, so the host's delete then finds a stale receipt and the message
/// comes back when the channel asked, not after `host.json`'s fixed
/// `visibilityTimeout`; it is sent once, and a blocked conversation is
/// recorded, not retried.
#[tokio::test]
async fn faults_are_retried_when_the_channel_says_and_blocked_is_final() {
    use nudge_tests::channel::Fault;
    use nudge_tests::channel::Scripted;

    let app = App::start().await;
    let conversation = unique("faults");
    app.ask(&conversation, "help", "").await;
    app.channel.respond_in(
        &conversation,
        [
            Fault::Answer(Scripted::throttled(Some("2"))),
            Fault::Answer(Scripted::error(503, "ServiceUnavailable")),
        ],
    );
    let key = nudge::ids::ConversationKey::new("emulator", &conversation).expect("a key");
    let notification = nudge::notification::Notification::to_conversation(
        key,
        nudge::activity::Activity::message("after the faults"),
        nudge::notification::Reason::Broadcast,
    );
    app.queue
        .send(vec![nudge::queue::OutgoingMessage {
            body: serde_json::to_string(&notification).expect("json"),
            delay: Duration::ZERO,
        }])
        .await
        .expect("enqueue");

    assert_eq!(
        app.host.trigger_queue(&app.queue, 10, Encoding::Text).await,
        [200]
    );
    app.assert_nothing_queued(
        Duration::from_secs(1),
        "the message waits out the channel's Retry-After, though the host deleted it",
    )
    .await;
    // Back after about 2 s (Retry-After), then after the 503's backoff.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.extend(
            app.host
                .trigger_queue(&app.queue, 10, Encoding::Base64)
                .await,
        );
        if app
            .channel
            .count_containing(&conversation, "after the faults")
            > 0
        {
            break;
        }
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        app.channel
            .count_containing(&conversation, "after the faults"),
        1,
        "sent once, after the faults"
    );

    app.channel.respond_in(
        &conversation,
        [Fault::Answer(Scripted::error(
            403,
            "ConversationBlockedByUser",
        ))],
    );
    let blocked = nudge::notification::Notification::to_conversation(
        nudge::ids::ConversationKey::new("emulator", &conversation).expect("a key"),
        nudge::activity::Activity::message("to a blocked user"),
        nudge::notification::Reason::Broadcast,
    );
    app.queue
        .send(vec![nudge::queue::OutgoingMessage {
            body: serde_json::to_string(&blocked).expect("json"),
            delay: Duration::ZERO,
        }])
        .await
        .expect("enqueue");
    assert_eq!(
        app.host
            .trigger_queue(&app.queue, 10, Encoding::Object)
            .await,
        [200]
    );
    app.assert_nothing_queued(
        Duration::from_secs(3),
        "a blocked conversation is not retried",
    )
    .await;
}

/// A broadcast to 120 subscribers of one tenant, with the channel
/// enforcing Teams' limits (50 a second for the app in a tenant, and the
/// per-conversation windows) and the host running 16 invocations at once:
/// every subscriber gets it once, and the channel refuses nothing.
#[tokio::test]
async fn a_broadcast_keeps_the_teams_limits_on_the_azure_handler() {
    use nudge::store::prelude::*;

    const SUBSCRIBERS: usize = 120;
    let app = App::start().await;
    let channel_id = unique("teams");
    let keys: Vec<nudge::ids::ConversationKey> = (0..SUBSCRIBERS)
        .map(|n| nudge::ids::ConversationKey::new(&channel_id, &format!("c{n:03}")).expect("a key"))
        .collect();
    for key in &keys {
        let mut reference = nudge::store::StoredReference::minimal(
            key,
            app.front.url(),
            nudge::service_url::Provenance::Verified,
        );
        if let Some(conversation) = reference.reference.conversation.as_mut() {
            conversation.tenant_id = Some("tenant-a".into());
        }
        app.store.save_reference(&reference).await.expect("save");
        app.store
            .subscribe(key, None, jiff::Timestamp::now())
            .await
            .expect("subscribe");
    }
    app.channel.enforce_teams_limits();

    let (status, body) = app
        .signed("/api/notify", &json!({"text": "Deploy finished"}))
        .await;
    assert_eq!(status, 202, "a signed broadcast is accepted: {body}");

    let delivered = || {
        keys.iter()
            .filter(|k| {
                app.channel
                    .count_containing(k.conversation_id(), "Deploy finished")
                    > 0
            })
            .count()
    };
    app.deliver_until("the broadcast", Duration::from_secs(120), || {
        delivered() == SUBSCRIBERS
    })
    .await;
    assert_eq!(
        delivered(),
        SUBSCRIBERS,
        "every subscriber got the broadcast"
    );
    for key in &keys {
        assert_eq!(
            app.channel
                .count_containing(key.conversation_id(), "Deploy finished"),
            1,
            "once each"
        );
    }
    assert_eq!(
        app.channel.throttled(),
        0,
        "the channel refused nothing: {:?}",
        app.channel.refusals()
    );
}

/// The ping is answered before the storage is ready; when the storage
/// cannot be prepared, the handler stops as a failed start does, so the
/// host starts another, and nothing is served meanwhile.
#[tokio::test]
async fn a_handler_whose_storage_cannot_be_reached_stops() {
    let nothing = free_port();
    let storage = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;\
         QueueEndpoint=http://127.0.0.1:{nothing}/devstoreaccount1;\
         TableEndpoint=http://127.0.0.1:{nothing}/devstoreaccount1"
    );
    let env = [
        ("AzureWebJobsStorage", storage),
        ("MicrosoftAppId", APP_ID.to_owned()),
        ("MicrosoftAppPassword", APP_PASSWORD.to_owned()),
        ("NUDGE_WEBHOOK_SECRETS", WEBHOOK_SECRET.to_owned()),
    ];
    let mut host = FunctionsHost::start(&env).await;
    let started = std::time::Instant::now();
    while host.running() && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!host.running(), "the handler stopped");
}

/// The handler SIGKILLed mid-batch, 16 invocations and their sends in
/// flight ([`nudge_tests::crash`]), and a new handler started in its place
/// (what the host does): the killed invocations' messages come back after
/// the visibility timeout and their claims after the delivery lease.
/// Nothing is lost; the only doubles are sends in flight at the kill, each
/// marked in doubt in its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_killed_mid_batch_loses_nothing_and_doubles_only_what_was_in_flight() {
    use nudge_tests::crash::{self, AtTheKill};
    use nudge_tests::functions_host::BATCH_SIZE;

    const NOTIFICATIONS: usize = 120;
    let mut app = App::start_on(
        Storage::connection_string(),
        &[
            ("NUDGE_CONVERSATION_RATE_LIMITS", "off"),
            ("NUDGE_BOT_RATE_LIMIT", "0"),
            // An attempt cut short by the kill holds its claim this long.
            ("NUDGE_DELIVERY_LEASE_SECONDS", "2"),
        ],
    )
    .await;
    app.channel.set_latency(crash::LATENCY);
    let notifications =
        crash::notifications(&app.store, app.front.url(), &unique("kill"), NOTIFICATIONS).await;
    nudge::notification::enqueue(&app.queue, &notifications)
        .await
        .expect("enqueue");

    // The host runs batches until the kill, a moment after the channel has
    // sends in flight once about a third has gone out.
    let kill = async {
        crash::wait_until(&app.channel, NOTIFICATIONS / 3, Duration::from_secs(60)).await;
        app.channel.until_in_flight(1).await;
        tokio::time::sleep(crash::LATENCY / 5).await;
        app.host.kill();
    };
    tokio::select! {
        () = drive(&app.host, &app.queue) => unreachable!("the host drives until the kill"),
        () = kill => {}
    }
    let at_the_kill = AtTheKill::count(&app.channel).await;
    assert!(
        at_the_kill.in_flight > 0,
        "the kill caught sends in flight: {at_the_kill:?}"
    );

    app.restart_handler().await;
    let all_arrived = async {
        crash::wait_until(&app.channel, NOTIFICATIONS, Duration::from_secs(120)).await;
        // Any double still to come would come within a visibility timeout
        // and a lease.
        tokio::time::sleep(Duration::from_secs(8)).await;
    };
    tokio::select! {
        () = drive(&app.host, &app.queue) => unreachable!("the host drives until every message is done"),
        () = all_arrived => {}
    }
    crash::check(
        "azure handler",
        &app.channel,
        &app.store,
        &notifications,
        at_the_kill,
        BATCH_SIZE,
    )
    .await;
}

/// The host's queue trigger, batch after batch, for as long as it is polled.
async fn drive(host: &FunctionsHost, queue: &AzureQueue) {
    loop {
        host.trigger_queue(
            queue,
            nudge_tests::functions_host::BATCH_SIZE,
            Encoding::Base64,
        )
        .await;
    }
}

/// A user subscribes in chat (the reply in the turn, the confirmation
/// through the queue), a signed webhook sends an Adaptive Card to that
/// conversation, and when the channel says the conversation is gone (404)
/// the reference is deactivated and the notification not retried.
#[tokio::test]
async fn subscribe_a_card_by_webhook_and_a_conversation_that_is_gone() {
    use nudge::activity::ADAPTIVE_CARD_CONTENT_TYPE;
    use nudge::store::prelude::*;
    use nudge_tests::channel::{Fault, Scripted};

    let app = App::start().await;
    let conversation = unique("sub");
    app.ask(&conversation, "subscribe", "").await;
    app.deliver_until(
        "the subscription's confirmation",
        Duration::from_secs(60),
        || {
            app.channel
                .count_containing(&conversation, "You have been notified.")
                > 0
        },
    )
    .await;

    let key = nudge::ids::ConversationKey::new("emulator", &conversation).expect("a key");
    let card = json!({
        "type": "AdaptiveCard", "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Build 42 passed"}],
    });
    let target = json!({"kind": "conversation", "key": key.to_string()});
    let (status, body) = app
        .signed("/api/notify", &json!({"target": target, "card": card}))
        .await;
    assert_eq!(status, 202, "{body}");
    let with_card = |r: &nudge_tests::channel::Received| {
        r.conversation_id == conversation
            && r.activity.attachments.as_ref().is_some_and(|a| {
                a.len() == 1
                    && a[0].content_type == ADAPTIVE_CARD_CONTENT_TYPE
                    && a[0].content.as_ref() == Some(&card)
            })
    };
    app.deliver_until("the card", Duration::from_secs(60), || {
        app.channel.received().iter().any(with_card)
    })
    .await;

    app.channel.respond_in(
        &conversation,
        [Fault::Answer(Scripted::error(404, "ConversationNotFound"))],
    );
    let (status, body) = app
        .signed(
            "/api/notify",
            &json!({"target": target, "text": "to a conversation that is gone"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        app.host
            .trigger_queue(&app.queue, 10, Encoding::Base64)
            .await,
        [200],
        "the notification is settled at the channel's 404"
    );
    app.assert_nothing_queued(
        Duration::from_secs(3),
        "a conversation that is gone is not retried",
    )
    .await;
    let reference = app
        .store
        .get_reference(&key)
        .await
        .expect("get_reference")
        .expect("the reference is kept");
    assert!(!reference.active, "and marked inactive: {reference:?}");
}
