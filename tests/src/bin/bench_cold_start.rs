//! `bench_cold_start`: how fast each Lambda bootstrap starts, and how much
//! memory its first invocation takes. Not a test: it prints figures for
//! BENCHMARKS.md. `scripts/bench-cold-start` builds the release bootstraps
//! (as `sam build` does: each function alone, so none compiles the local
//! host), starts moto and runs it.
//!
//! This program plays the Lambda Runtime API on loopback, as Lambda does
//! for a fresh execution environment, and starts each bootstrap `--runs`
//! times, one process at a time, on a table, queue and secret on moto:
//!
//! - **start → first `next`**: from just before the process is spawned to
//!   its first `GET /2018-06-01/runtime/invocation/next`, which is when
//!   Lambda's init phase ends (configuration read, the secret fetched where
//!   `template.yaml` gives the function one, the clients built);
//! - **start → first answer**: to the answer to its first event (messages:
//!   `GET /healthz` through API Gateway; notifier: an empty SQS batch;
//!   reminder: a schedule tick on an empty table);
//! - **peak RSS** (`VmHWM`) once it has answered;
//! - the **size** of the file.
//!
//! Medians and the 90th percentile, per function. Last, the rig's own
//! share: how long moto (Python) takes to answer `GetSecretValue`, which
//! the messages and notifier starts each wait for once (the reminder is
//! given no secret). A deployment pays Secrets Manager's answer instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use clap::Parser;
use jiff::Timestamp;
use nudge_tests::events;
use nudge_tests::moto::{self, TestQueue};
use serde_json::{json, Value};
use tokio::sync::Notify;

#[derive(Parser)]
struct Args {
    /// Starts of each bootstrap.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Where the bootstraps are.
    #[arg(long, default_value = "target/release")]
    dir: PathBuf,
    /// Which functions, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "messages,notifier,reminder"
    )]
    functions: Vec<String>,
}

/// What the played Runtime API saw of the current process.
#[derive(Default)]
struct Seen {
    event: Value,
    first_next: Option<Instant>,
    answered: Option<Instant>,
    failed: Option<String>,
}

#[derive(Clone)]
struct RuntimeApi {
    seen: Arc<Mutex<Seen>>,
    changed: Arc<Notify>,
}

impl RuntimeApi {
    fn note(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.seen.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_waiters();
    }
}

/// The first `next` gets the run's event; any later one waits until the
/// process is killed (an idle environment between invocations).
async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let first = {
        let mut seen = api.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.first_next {
            Some(_) => None,
            None => {
                seen.first_next = Some(Instant::now());
                Some(seen.event.to_string())
            }
        }
    };
    api.changed.notify_waiters();
    let Some(event) = first else {
        std::future::pending::<()>().await;
        unreachable!("pending never ends");
    };
    let deadline = Timestamp::now().as_millisecond() + 30_000;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", "bench-request".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (headers, event)
}

async fn response(State(api): State<RuntimeApi>, Path(_id): Path<String>) -> StatusCode {
    api.note(|seen| seen.answered = Some(Instant::now()));
    StatusCode::ACCEPTED
}

async fn error(State(api): State<RuntimeApi>, body: String) -> StatusCode {
    api.note(|seen| seen.failed = Some(body));
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(api): State<RuntimeApi>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    error(State(api), body).await
}

/// One start's figures.
struct Start {
    to_next: Duration,
    to_answer: Duration,
    peak_rss_kib: u64,
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The environment `template.yaml` gives `function`: the secret only to
/// the functions that read it (messages and notifier; the reminder needs
/// neither the app password nor the webhook secrets, so it is not given
/// the secret, nor the right to read it).
fn env_for(function: &str, env: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    env.iter()
        .filter(|(name, _)| function != "reminder" || *name != "NUDGE_SECRET_ARN")
        .cloned()
        .collect()
}

async fn start_once(
    api: &RuntimeApi,
    address: SocketAddr,
    binary: &PathBuf,
    env: &[(&'static str, String)],
    event: Value,
) -> Result<Start, String> {
    *api.seen.lock().unwrap_or_else(|e| e.into_inner()) = Seen {
        event,
        ..Seen::default()
    };
    let began = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("NUDGE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id().ok_or("the process has no id")?;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let changed = api.changed.notified();
            {
                let seen = api.seen.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(why) = &seen.failed {
                    return Err(format!("the function reported an error: {why}"));
                }
                if let (Some(next), Some(answered)) = (seen.first_next, seen.answered) {
                    return Ok((next - began, answered - began));
                }
            }
            changed.await;
        }
    })
    .await
    .map_err(|_| "no answer within 30 s".to_owned())?;
    let (to_next, to_answer) = outcome?;
    // The answer is posted before the next `next`: give it a moment to
    // settle, then read the peak.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let peak_rss_kib = peak_rss_kib(pid).unwrap_or(0);
    let _ = child.kill().await;
    Ok(Start {
        to_next,
        to_answer,
        peak_rss_kib,
    })
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(rank).copied().unwrap_or(f64::NAN)
}

fn event_for(function: &str) -> Value {
    match function {
        "messages" => events::http_request("GET", "/healthz", &[], ""),
        "notifier" => json!({"Records": []}),
        _ => events::scheduled_event(Timestamp::now()),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let config = moto::sdk_config().await;
    let table = moto::new_table(&config).await;
    let queue = TestQueue::create(&config, 5).await;
    let secret_arn = moto::create_secret(
        &config,
        json!({
            "MicrosoftAppPassword": "bench-password",
            "NUDGE_WEBHOOK_SECRETS": "bench-webhook-secret-of-enough-length",
        }),
    )
    .await;
    let mut env = moto::function_env();
    env.extend([
        ("NUDGE_TABLE_NAME", table),
        ("NUDGE_QUEUE_URL", queue.url.clone()),
        ("NUDGE_DEAD_LETTER_QUEUE_URL", queue.dead_letter_url.clone()),
        ("NUDGE_SECRET_ARN", secret_arn.clone()),
        ("MicrosoftAppId", "bench-app".to_owned()),
    ]);

    let api = RuntimeApi {
        seen: Arc::default(),
        changed: Arc::new(Notify::new()),
    };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    println!(
        "| function | size | start → first `next`, median (p90) | start → first answer, median (p90) | peak RSS, median (max) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for function in &args.functions {
        let binary = args.dir.join(function);
        let size = std::fs::metadata(&binary)
            .map_err(|e| format!("{}: {e}", binary.display()))?
            .len();
        let mut starts = Vec::new();
        for run in 0..args.runs {
            let env = env_for(function, &env);
            let start = start_once(&api, address, &binary, &env, event_for(function))
                .await
                .map_err(|e| format!("{function}, start {}: {e}", run + 1))?;
            starts.push(start);
        }
        let ms = |f: fn(&Start) -> Duration| -> Vec<f64> {
            starts.iter().map(|s| f(s).as_secs_f64() * 1000.0).collect()
        };
        let rss: Vec<f64> = starts
            .iter()
            .map(|s| s.peak_rss_kib as f64 / 1024.0)
            .collect();
        let next = ms(|s| s.to_next);
        let answer = ms(|s| s.to_answer);
        println!(
            "| {function} | {:.1} MB | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {:.1} MiB ({:.1}) |",
            size as f64 / 1e6,
            percentile(next.clone(), 0.5),
            percentile(next, 0.9),
            percentile(answer.clone(), 0.5),
            percentile(answer, 0.9),
            percentile(rss.clone(), 0.5),
            percentile(rss, 1.0),
        );
    }
    let reads = secret_reads(&config, &secret_arn, args.runs).await?;
    println!(
        "\nThe rig: moto answers `GetSecretValue` in {:.1} ms (p90 {:.1}), median of {} reads, each on a new client.",
        percentile(reads.clone(), 0.5),
        percentile(reads, 0.9),
        args.runs,
    );
    Ok(())
}

/// How long each of `runs` secret reads took, in ms, each from a client of
/// its own (a new connection, as a starting function makes).
async fn secret_reads(
    config: &aws_config::SdkConfig,
    arn: &str,
    runs: usize,
) -> Result<Vec<f64>, String> {
    let mut reads = Vec::with_capacity(runs);
    for _ in 0..runs {
        let client = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(config)
                .http_client(nudge::aws::sdk_http_client())
                .build(),
        );
        let began = Instant::now();
        client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| format!("reading the secret on moto: {e}"))?;
        reads.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(reads)
}
