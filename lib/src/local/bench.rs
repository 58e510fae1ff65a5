//! `nudge bench`: how fast the local host delivers, measured end to end.
//!
//! Not a test: it prints figures for BENCHMARKS.md. The runs at the
//! channel's limits are in `limited`; the plan of a whole `nudge bench`
//! in [`Plan`]. The throughput run ([`run`]) starts a sink that
//! plays a channel (answers every send with 200, after an optional
//! latency) and the local host on a fresh data directory with the rate
//! limits off, stores one reference per conversation, enqueues the
//! notifications in one go, and waits for the sink to have them all.
//! Reported: deliveries per second (first enqueue to last arrival), the
//! time from enqueue to arrival at the 50th and 99th percentile, and the
//! process's peak resident memory (`VmHWM`, which includes the sink; each
//! run of a plan has a process of its own, [`run_plan`]).
//!
//! The [`Sink`] and the helpers below it are public for the benchmark of
//! the Lambda notifier binary (`tests/src/bin/bench_lambda.rs`), which
//! measures the same things against the same sink.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::activity::Activity;
use crate::config::Settings;
use crate::ids::ConversationKey;
use crate::notification::{enqueue, Notification, Reason};
use crate::rate::RateLimits;
use crate::service_url::Provenance;
use crate::store::StoredReference;

use super::{LocalHost, StartError};

mod limited;
mod plan;
mod sink;
pub mod teams_limits;

pub use plan::{run as run_plan, BenchError, Plan, Run};
pub use sink::{Arrival, Sink};

/// What one run measured.
#[derive(Debug)]
pub struct Figures {
    /// Notifications delivered.
    pub notifications: usize,
    /// The sink's answer latency.
    pub latency: Duration,
    /// The notifier's concurrency.
    pub concurrency: usize,
    /// Deliveries per second, first enqueue to last arrival.
    pub per_second: f64,
    /// Enqueue to arrival, median.
    pub p50: Duration,
    /// Enqueue to arrival, 99th percentile.
    pub p99: Duration,
    /// The process's peak resident memory (`VmHWM`), where readable.
    pub peak_rss_kib: Option<u64>,
}

/// Runs one measurement: `notifications` spread over `conversations`, the
/// sink answering after `latency`.
pub async fn run(
    mut settings: Settings,
    data_dir: &Path,
    notifications: usize,
    conversations: usize,
    latency: Duration,
) -> Result<Figures, StartError> {
    let sink = Sink::start(latency)
        .await
        .map_err(|source| StartError::Bind { port: 0, source })?;
    settings.port = 0;
    settings.data_dir = data_dir.to_owned();
    settings.notifier.rate_limits = RateLimits::off();
    let host = LocalHost::start(&settings).await?;
    let store = host.store().clone();
    let service_url = format!("http://{}", sink.addr());
    let mut keys = Vec::with_capacity(conversations);
    for n in 0..conversations.max(1) {
        let key = bench_key(&format!("c{n}"))?;
        store
            .save_reference(&StoredReference::minimal(
                &key,
                &service_url,
                Provenance::Verified,
            ))
            .await?;
        keys.push(key);
    }
    let batch: Vec<Notification> = (0..notifications)
        .map(|n| {
            Notification::to_conversation(
                keys[n % keys.len()].clone(),
                Activity::message(format!("{n}")),
                Reason::Webhook,
            )
        })
        .collect();
    let started = Instant::now();
    for chunk in batch.chunks(500) {
        enqueue(host.queue(), chunk).await?;
    }
    let enqueued = Instant::now();
    while sink.received() < notifications {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut delays: Vec<Duration> = sink
        .arrivals()
        .iter()
        .map(|arrival| arrival.at.saturating_duration_since(started))
        .collect();
    delays.sort();
    let last = delays.last().copied().unwrap_or_default();
    let figures = Figures {
        notifications,
        latency,
        concurrency: settings.notifier_concurrency,
        per_second: notifications as f64 / last.as_secs_f64().max(f64::EPSILON),
        p50: percentile(&delays, 50),
        p99: percentile(&delays, 99),
        peak_rss_kib: peak_rss_kib(None),
    };
    tracing::info!(enqueue = ?enqueued.duration_since(started), "bench run done");
    host.stop().await;
    Ok(figures)
}

/// A conversation of the benchmark's own channel.
fn bench_key(id: &str) -> Result<ConversationKey, crate::store::StoreError> {
    ConversationKey::new("bench", id).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))
}

/// The `p`th percentile of durations sorted ascending (zero for none).
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// The peak resident set (Linux's `VmHWM`), in KiB, of process `pid`, or
/// of this process for `None`.
pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
