//! `bench_azure_start`: how fast the Azure custom handler starts, and how
//! much memory its first invocation takes. Not a test: it prints figures
//! for BENCHMARKS.md. `scripts/bench-azure start` builds the release
//! handler (and this program, whose own speed is not in the figures, in
//! the dev profile), starts Azurite and runs it.
//!
//! It plays the Functions host's start-up rule: the handler is spawned
//! with `FUNCTIONS_CUSTOMHANDLER_PORT` and pinged with `GET /` (here every
//! millisecond) until it answers; then one timer invocation (a reminder
//! tick on an empty table) is its first real work. The queue and table
//! exist already, as they do after the first start of a deployment.
//!
//! - **start → ping answered**: from just before the spawn to the first
//!   answer to `GET /` (settings read, the queue and table checked, the
//!   clients built);
//! - **start → first tick answered**;
//! - **peak RSS** (`VmHWM`) once it has answered;
//! - the **size** of the file.
//!
//! Medians and the 90th percentile over `--runs` starts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Parser;
use nudge_tests::azurite;
use nudge_tests::functions_host::peak_rss_mib;
use nudge_tests::server::free_port;
use nudge_tests::suites::unique;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Starts of the handler.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// The handler binary.
    #[arg(long, default_value = "target/release/handler")]
    handler: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let queue = unique("bench").to_ascii_lowercase();
    let table: String = unique("bench")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let http = nudge_tests::http::client();
    let (mut pings, mut ticks, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    // One start first, which creates the queue and the table.
    for run in 0..=args.runs {
        let port = free_port();
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&args.handler)
            .env_clear()
            .env("AzureWebJobsStorage", azurite::connection_string())
            .env("NUDGE_QUEUE_NAME", &queue)
            .env("NUDGE_TABLE_NAME", &table)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .env("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
            .env("MicrosoftAppPassword", "not-used-by-a-start")
            .env("NUDGE_WEBHOOK_SECRETS", "bench-webhook-secret-0001")
            .env("NUDGE_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the handler");
        let url = format!("http://127.0.0.1:{port}");
        let ping = loop {
            if http.get(format!("{url}/")).send().await.is_ok() {
                break started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no answer to the ping"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let tick = json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}});
        let answer = http
            .post(format!("{url}/reminder"))
            .json(&tick)
            .send()
            .await
            .expect("the tick is answered");
        assert!(answer.status().is_success(), "the tick succeeds");
        let first_tick = started.elapsed();
        let peak = peak_rss_mib(child.id().unwrap_or(0));
        child.kill().await.ok();
        if run > 0 {
            pings.push(ping.as_secs_f64() * 1000.0);
            ticks.push(first_tick.as_secs_f64() * 1000.0);
            rss.push(peak);
        }
    }
    let size = std::fs::metadata(&args.handler)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "| handler | {:.1} MB | {} ms | {} ms | {} MiB |",
        size as f64 / 1e6,
        spread(&mut pings),
        spread(&mut ticks),
        spread(&mut rss),
    );
}

/// "median (p90)".
fn spread(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!("{:.1} ({:.1})", at(0.5), at(0.9))
}
