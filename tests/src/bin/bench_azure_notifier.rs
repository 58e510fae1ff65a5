//! `bench_azure_notifier`: how fast the Azure custom handler's notifier
//! delivers when nothing limits it. Not a test: it prints figures for
//! BENCHMARKS.md; `scripts/bench-azure notifier` builds the release handler
//! (this program in the dev profile) and starts Azurite.
//!
//! `--notifications` conversations are stored in the handler's table and
//! one notification to each is put on its queue; then our Functions host
//! plays the queue trigger (batches of up to 32 received, `--concurrency`
//! invocations at once, the message deleted after each 2xx) against a test
//! channel that answers at once, behind HTTPS, with the rate limits off.
//!
//! Printed: deliveries per second from the first invocation to the last
//! delivery, the invocations' p50/p99 (handler in, answer out), and the
//! handler's peak RSS.

use std::time::{Duration, Instant};

use clap::Parser;
use futures::stream::{self, StreamExt};
use nudge::queue::azure::AzureQueue;
use nudge::queue::Queue;
use nudge_tests::azurite;
use nudge_tests::channel::FakeChannel;
use nudge_tests::crash;
use nudge_tests::entra::FakeEntra;
use nudge_tests::functions_host::{Encoding, FunctionsHost, VISIBILITY};
use nudge_tests::openid::APP_ID;
use nudge_tests::secured::APP_PASSWORD;
use nudge_tests::server::address_of;
use nudge_tests::suites::unique;
use nudge_tests::tls::{ca_file, TlsFront};

#[derive(Parser)]
struct Args {
    /// Notifications, each to a conversation of its own.
    #[arg(long, default_value_t = 1000)]
    notifications: usize,
    /// Invocations at once (host.json's batchSize 16 + newBatchThreshold 8).
    #[arg(long, default_value_t = 24)]
    concurrency: usize,
    /// The handler binary.
    #[arg(long, default_value = "target/release/handler")]
    handler: std::path::PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let channel = FakeChannel::start().await;
    let entra = FakeEntra::start().await;
    let front = TlsFront::start(address_of(channel.service_url())).await;
    let queue_name = unique("bench").to_ascii_lowercase();
    let table_name: String = unique("bench")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let env = [
        ("AzureWebJobsStorage", azurite::connection_string()),
        ("NUDGE_QUEUE_NAME", queue_name.clone()),
        ("NUDGE_TABLE_NAME", table_name.clone()),
        ("MicrosoftAppId", APP_ID.to_owned()),
        ("MicrosoftAppPassword", APP_PASSWORD.to_owned()),
        (
            "ToChannelFromBotLoginUrl",
            entra.login_url("botframework.com"),
        ),
        ("NUDGE_WEBHOOK_SECRETS", "bench-webhook-secret-0001".into()),
        ("NUDGE_CONVERSATION_RATE_LIMITS", "off".into()),
        ("NUDGE_BOT_RATE_LIMIT", "0".into()),
        ("NUDGE_TRUSTED_SERVICE_HOSTS", "default,loopback".into()),
        ("SSL_CERT_FILE", ca_file().display().to_string()),
        ("NUDGE_LOG", "warn".into()),
    ];
    let host = FunctionsHost::start_binary(&args.handler, &env).await;
    let (status, _) = host
        .request(reqwest::Method::GET, "/healthz", &[], String::new())
        .await;
    assert_eq!(status, 200, "the handler is ready");

    let account = azurite::account();
    let store = nudge::store::azure_table::AzureTableStore::new(
        nudge::store::azure_table::rest::TableClient::new(
            nudge_tests::http::client(),
            account.table_endpoint.clone(),
            &table_name,
            nudge::azure_storage::Credential::for_account(&account, None),
        ),
    );
    let queue = AzureQueue::new(&account, &queue_name, nudge_tests::http::client(), None, 5)
        .expect("a queue client");
    eprintln!(
        "storing {} conversations and enqueueing ...",
        args.notifications
    );
    let notifications =
        crash::notifications(&store, front.url(), "bench", args.notifications).await;
    nudge::notification::enqueue(&queue, &notifications)
        .await
        .expect("enqueue");

    eprintln!("delivering ...");
    let started = Instant::now();
    let mut latencies = Vec::new();
    while channel.received().len() < args.notifications {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {} delivered in 10 minutes",
            channel.received().len(),
            args.notifications
        );
        let messages = queue
            .receive(32, VISIBILITY, Duration::from_secs(1))
            .await
            .expect("receive");
        let timed: Vec<(u16, Duration)> = stream::iter(messages)
            .map(|message| async {
                let began = Instant::now();
                let status = host
                    .invoke_notifier(&queue, message, Encoding::Base64)
                    .await;
                (status, began.elapsed())
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        for (status, took) in timed {
            assert_eq!(status, 200, "every invocation succeeds");
            latencies.push(took.as_secs_f64() * 1000.0);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {} notifications, {} at once | {:.0}/s | {:.1} ms | {:.1} ms | {:.1} MiB |",
        args.notifications,
        args.concurrency,
        args.notifications as f64 / elapsed,
        at(0.5),
        at(0.99),
        host.peak_rss_mib(),
    );
}
