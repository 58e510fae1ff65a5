//! `bench_lambda`: how fast the Lambda `notifier` binary delivers, measured
//! end to end, as `nudge bench` measures the local host. Not a test: it
//! prints figures for BENCHMARKS.md. `scripts/bench-lambda` builds the
//! release binaries, starts moto and runs it.
//!
//! One run per sink latency: a fresh table and queue on moto, the sink of
//! `nudge bench` ([`Sink`], behind HTTPS: the function sends only over
//! TLS) as the channel, one reference per conversation pointing at it, and
//! `--instances` notifier processes, each under its own Lambda Runtime API
//! emulator and fed by its own poller of the played SQS event source
//! ([`EventSource`]: batches of up to 10, partial batch responses), rate
//! limits off. The notifications are enqueued in batches of 10, eight
//! batches at a time, keeping at most `--backlog` (default 200) of them
//! enqueued and not yet delivered (0: no bound, everything in one go as
//! `nudge bench` does), and the run ends when the sink has them all. The
//! bound is for moto: its SQS looks at every message in the queue on each
//! receive, delete and visibility change, so with 10,000 waiting each
//! takes seconds, invocations outrun their timeout, and the run measures a
//! queue scan. With a bound, the enqueue→delivery times are those of a
//! queue `--backlog` deep, not of a burst.
//!
//! Reported: deliveries per second (first enqueue to last arrival), the
//! time from each notification's enqueue to its arrival at the 50th and
//! 99th percentile, each notifier process's peak resident memory
//! (`VmHWM`), the CPU time the notifier processes used per 1,000
//! deliveries (`utime + stime`, start-up excluded), the moto server's too
//! when `NUDGE_MOTO_PID` names it, and the requests each delivery made to
//! DynamoDB, SQS and Secrets Manager, counted by a pass-through proxy the
//! functions reach moto through.
//!
//! moto is the bottleneck here, not nudge: it is Python, and
//! `scripts/moto_server.py` serves DynamoDB one request at a time. The
//! deliveries per second are moto's; the CPU time per delivery is what the
//! binary costs wherever it runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt;
use nudge::activity::Activity;
use nudge::ids::ConversationKey;
use nudge::local::bench::{peak_rss_kib, percentile, Sink};
use nudge::notification::{enqueue, Notification, Reason};
use nudge::service_url::Provenance;
use nudge::store::dynamodb::DynamoStore;
use nudge::store::prelude::*;
use nudge::store::StoredReference;
use nudge_tests::entra::FakeEntra;
use nudge_tests::event_source::EventSource;
use nudge_tests::lambda::LambdaFunction;
use nudge_tests::moto::{self, TestQueue};
use nudge_tests::stack_env::stack_env;
use nudge_tests::tls::TlsFront;
use serde_json::json;

const USAGE: &str = "usage: bench_lambda [--notifications N] [--conversations N] \
[--instances N] [--backlog N] [--latencies MS,MS,...] [--timeout SECONDS]

Needs a moto server (NUDGE_MOTO_ENDPOINT), `cargo-lambda` on PATH and the \
release `notifier` binary next to this one: scripts/bench-lambda sees to all three.";

const APP_ID: &str = "00000000-0000-0000-0000-0000000be4c4";

/// Sends to SQS in flight while enqueuing (each a batch of 10).
const ENQUEUERS: usize = 8;

struct Options {
    notifications: usize,
    conversations: usize,
    /// Notifier processes, each with its own poller: Lambda's concurrent
    /// invocations for the queue.
    instances: usize,
    /// At most this many enqueued and not yet delivered (0: no bound).
    backlog: usize,
    latencies: Vec<Duration>,
    /// How long a run may wait for the sink to see everything.
    timeout: Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            notifications: 10_000,
            conversations: 1_000,
            // The event source mapping's MaximumConcurrency in template.yaml.
            instances: 5,
            backlog: 200,
            latencies: vec![Duration::ZERO, Duration::from_millis(50)],
            timeout: Duration::from_secs(20 * 60),
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            let number = |v: String| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{flag}: `{v}` is not a positive number"))
            };
            match flag.as_str() {
                "--notifications" => options.notifications = number(value()?)?,
                "--conversations" => options.conversations = number(value()?)?,
                "--instances" => options.instances = number(value()?)?,
                "--backlog" => {
                    let v = value()?;
                    options.backlog = v
                        .parse()
                        .map_err(|_| format!("--backlog: `{v}` is not a number"))?
                }
                "--timeout" => options.timeout = Duration::from_secs(number(value()?)? as u64),
                "--latencies" => {
                    options.latencies = value()?
                        .split(',')
                        .map(|ms| {
                            ms.trim()
                                .parse()
                                .map(Duration::from_millis)
                                .map_err(|_| format!("--latencies: `{ms}` is not milliseconds"))
                        })
                        .collect::<Result<_, _>>()?
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(options)
    }
}

/// What one run measured.
struct Figures {
    latency: Duration,
    delivered: usize,
    duplicates: usize,
    enqueue: Duration,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Peak resident memory of each notifier process, KiB.
    peak_rss_kib: Vec<u64>,
    /// CPU seconds of all notifier processes over the run.
    notifier_cpu: f64,
    /// CPU seconds of the moto server over the run, when known.
    moto_cpu: Option<f64>,
    /// Requests the functions made, by service and operation.
    requests: BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("bench_lambda: {problem}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    println!(
        "notifier binary (Lambda runtime emulator, DynamoDB and SQS on moto): {} notifications \
         over {} conversations, {} instances, batches of 10, rate limits off, backlog {}",
        options.notifications,
        options.conversations,
        options.instances,
        match options.backlog {
            0 => "unbounded (all enqueued at once)".to_owned(),
            n => format!("at most {n} enqueued and undelivered"),
        }
    );
    println!("machine: {}", machine());
    let mut all = Vec::new();
    for latency in &options.latencies {
        let figures = run(&options, *latency).await;
        report(&options, &figures);
        all.push(figures);
    }
    println!("\n| notifications | backlog | sink latency | instances | deliveries/s | p50 enqueue→delivery | p99 enqueue→delivery | peak RSS per instance (max) | notifier CPU per 1,000 | moto CPU per 1,000 | requests per delivery |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for f in &all {
        println!(
            "| {} | {} | {} ms | {} | {:.0} | {} ms | {} ms | {:.1} MiB | {:.2} s | {} | {:.2} |",
            f.delivered,
            options.backlog,
            f.latency.as_millis(),
            options.instances,
            f.per_second,
            f.p50.as_millis(),
            f.p99.as_millis(),
            f.peak_rss_kib.iter().max().copied().unwrap_or(0) as f64 / 1024.0,
            per_thousand(f.notifier_cpu, f.delivered),
            f.moto_cpu
                .map(|s| format!("{:.2} s", per_thousand(s, f.delivered)))
                .unwrap_or_else(|| "-".to_owned()),
            f.requests.values().sum::<u64>() as f64 / f.delivered.max(1) as f64,
        );
    }
}

fn per_thousand(seconds: f64, delivered: usize) -> f64 {
    seconds * 1000.0 / delivered.max(1) as f64
}

fn report(options: &Options, f: &Figures) {
    println!("\nsink latency {} ms:", f.latency.as_millis());
    println!(
        "  delivered {} of {} ({} duplicate sends); enqueue took {:.1} s",
        f.delivered,
        options.notifications,
        f.duplicates,
        f.enqueue.as_secs_f64()
    );
    println!(
        "  {:.0} deliveries/s; enqueue→delivery p50 {} ms, p99 {} ms",
        f.per_second,
        f.p50.as_millis(),
        f.p99.as_millis()
    );
    let rss: Vec<String> = f
        .peak_rss_kib
        .iter()
        .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
        .collect();
    println!("  peak RSS per notifier process (MiB): {}", rss.join(", "));
    println!(
        "  CPU: notifier processes {:.1} s in all, {:.2} s per 1,000 deliveries{}",
        f.notifier_cpu,
        per_thousand(f.notifier_cpu, f.delivered),
        f.moto_cpu
            .map(|s| format!(
                "; moto {s:.1} s, {:.2} s per 1,000",
                per_thousand(s, f.delivered)
            ))
            .unwrap_or_default()
    );
    let per: Vec<String> = f
        .requests
        .iter()
        .map(|(op, n)| format!("{op} {:.2}", *n as f64 / f.delivered.max(1) as f64))
        .collect();
    println!(
        "  requests per delivery from the notifier: {:.2} ({})",
        f.requests.values().sum::<u64>() as f64 / f.delivered.max(1) as f64,
        per.join(", ")
    );
}

async fn run(options: &Options, latency: Duration) -> Figures {
    let config = moto::sdk_config().await;
    let proxy = CountingProxy::start(moto::endpoint()).await;
    let table = moto::new_table(&config).await;
    let queue = TestQueue::create(&config, 10).await;
    let sink = Sink::start(latency).await.expect("start the sink");
    let front = TlsFront::start(sink.addr()).await;
    let entra = FakeEntra::start().await;

    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let keys: Vec<ConversationKey> = (0..options.conversations)
        .map(|n| ConversationKey::new("bench", &format!("c{n}")).expect("a conversation key"))
        .collect();
    futures::stream::iter(&keys)
        .for_each_concurrent(8, |key| {
            let reference = StoredReference::minimal(key, front.url(), Provenance::Verified);
            let store = &store;
            async move {
                store
                    .save_reference(&reference)
                    .await
                    .expect("store a reference on moto");
            }
        })
        .await;

    let mut env = stack_env(
        &config,
        &table,
        &queue,
        &entra,
        APP_ID,
        json!({"MicrosoftAppPassword": "bench"}),
    )
    .await;
    for (name, value) in &mut env {
        if *name == "AWS_ENDPOINT_URL" {
            *value = proxy.url.clone();
        }
    }
    env.extend([
        ("NUDGE_CONVERSATION_RATE_LIMITS", "off".to_owned()),
        ("NUDGE_BOT_RATE_LIMIT", "0".to_owned()),
        // As template.yaml deploys it.
        ("NUDGE_LOG", "info".to_owned()),
    ]);
    let instances = futures::future::join_all(
        (0..options.instances).map(|_| LambdaFunction::start("notifier", &env)),
    )
    .await;
    let pids: Vec<u32> = instances
        .iter()
        .map(|i| i.function_pid().expect("a running notifier process"))
        .collect();
    // Let the processes finish starting (config, secret, first poll of
    // the runtime API) so the CPU and request counts below are the run's.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let moto_pid: Option<u32> = std::env::var("NUDGE_MOTO_PID")
        .ok()
        .and_then(|p| p.parse().ok());
    let notifier_cpu_before: f64 = pids.iter().filter_map(|p| cpu_seconds(*p)).sum();
    let moto_cpu_before = moto_pid.and_then(cpu_seconds);
    proxy.take();

    let source = EventSource::start(
        &config,
        &queue.url,
        &queue.arn,
        instances,
        Duration::from_secs(60),
    );
    let sqs_queue = Arc::new(queue.adapter(&config));
    let batches: Vec<(usize, Vec<Notification>)> = (0..options.notifications)
        .step_by(10)
        .map(|first| {
            let batch = (first..(first + 10).min(options.notifications))
                .map(|n| {
                    Notification::to_conversation(
                        keys[n % keys.len()].clone(),
                        Activity::message(n.to_string()),
                        Reason::Webhook,
                    )
                })
                .collect();
            (first, batch)
        })
        .collect();
    let started = Instant::now();
    let deadline = started + options.timeout;
    let backlog = options.backlog;
    let sink = &sink;
    let enqueue_and_wait = async {
        let enqueued: Vec<(usize, usize, Instant)> = futures::stream::iter(batches)
            .map(|(first, batch)| {
                let queue = sqs_queue.clone();
                async move {
                    while backlog > 0 && first + batch.len() > sink.received() + backlog {
                        if Instant::now() >= deadline {
                            return (first, 0, deadline);
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    let at = Instant::now();
                    enqueue(queue.as_ref(), &batch)
                        .await
                        .expect("enqueue on moto");
                    (first, batch.len(), at)
                }
            })
            .buffer_unordered(ENQUEUERS)
            .collect()
            .await;
        let enqueue_took = started.elapsed();
        while sink.received() < options.notifications && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (enqueued, enqueue_took)
    };
    let progress = async {
        loop {
            tokio::time::sleep(Duration::from_secs(15)).await;
            eprintln!(
                "bench_lambda: {} of {} delivered after {:.0} s",
                sink.received(),
                options.notifications,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let (enqueued, enqueue_took) = tokio::select! {
        done = enqueue_and_wait => done,
        _ = progress => unreachable!("progress reports for ever"),
    };
    let mut enqueued_at = vec![started; options.notifications];
    for (first, len, at) in enqueued {
        enqueued_at[first..first + len].fill(at);
    }
    let notifier_cpu: f64 =
        pids.iter().filter_map(|p| cpu_seconds(*p)).sum::<f64>() - notifier_cpu_before;
    let moto_cpu = moto_cpu_before
        .zip(moto_pid.and_then(cpu_seconds))
        .map(|(before, after)| after - before);
    let peak_rss: Vec<u64> = pids
        .iter()
        .map(|p| peak_rss_kib(Some(*p)).unwrap_or(0))
        .collect();
    let requests = proxy.take();
    drop(source);

    let arrivals = sink.arrivals();
    let mut first_arrival: HashMap<usize, Instant> = HashMap::new();
    for arrival in &arrivals {
        first_arrival.entry(arrival.number).or_insert(arrival.at);
    }
    let mut delays: Vec<Duration> = first_arrival
        .iter()
        .filter_map(|(n, at)| Some(at.saturating_duration_since(*enqueued_at.get(*n)?)))
        .collect();
    delays.sort();
    let last = first_arrival.values().max().copied().unwrap_or(started);
    let delivered = first_arrival.len();
    if delivered < options.notifications {
        eprintln!(
            "bench_lambda: only {delivered} of {} delivered within {:?}",
            options.notifications, options.timeout
        );
    }
    // Let the pollers see the stop and their instances go.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Figures {
        latency,
        delivered,
        duplicates: arrivals.len() - delivered,
        enqueue: enqueue_took,
        per_second: delivered as f64
            / last
                .saturating_duration_since(started)
                .as_secs_f64()
                .max(f64::EPSILON),
        p50: percentile(&delays, 50),
        p99: percentile(&delays, 99),
        peak_rss_kib: peak_rss,
        notifier_cpu,
        moto_cpu,
        requests,
    }
}

/// CPU time (user and system) process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from the
    // state on: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks())
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), 100 if unknown.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPUs, model and memory of this machine, from /proc.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    format!("{cpus} CPUs, {model}, {memory_gib:.0} GiB RAM")
}

/// A pass-through proxy in front of moto that counts the requests through
/// it by service and operation (the `X-Amz-Target` the SDKs send).
struct CountingProxy {
    url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct Upstream {
    url: String,
    http: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingProxy {
    async fn start(upstream: String) -> CountingProxy {
        let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::new(Upstream {
                url: upstream.trim_end_matches('/').to_owned(),
                http: nudge_tests::http::client(),
                counts: counts.clone(),
            }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingProxy {
            url: format!("http://{addr}"),
            counts,
        }
    }

    /// The counts so far; starts counting afresh.
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().expect("lock"))
    }
}

fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
    )
}

async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .map_or_else(
            || format!("{} {}", parts.method, parts.uri.path()),
            |target| match target.split_once('.') {
                Some((service, op)) if service.starts_with("DynamoDB") => format!("DynamoDB {op}"),
                Some(("AmazonSQS", op)) => format!("SQS {op}"),
                Some((service, op)) => format!("{service} {op}"),
                None => target.to_owned(),
            },
        );
    *upstream
        .counts
        .lock()
        .expect("lock")
        .entry(operation)
        .or_default() += 1;
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = upstream
        .http
        .request(parts.method.clone(), format!("{}{path}", upstream.url))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name.as_str()) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
