//! `nudge bench`: how fast the local host delivers, measured end to end.
//!
//! Not a test: it prints figures for BENCHMARKS.md. It starts a sink that
//! plays a channel (answers every send with 200, after an optional
//! latency) and the local host on a fresh data directory with the rate
//! limits off, stores one reference per conversation, enqueues the
//! notifications in one go, and waits for the sink to have them all.
//! Reported: deliveries per second (first enqueue to last arrival), the
//! time from enqueue to arrival at the 50th and 99th percentile, and the
//! process's peak resident memory (`VmHWM`, which includes the sink).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::{Json, Router};

use crate::activity::Activity;
use crate::config::Settings;
use crate::delivery::rate::RateLimits;
use crate::ids::ConversationKey;
use crate::notification::{enqueue, Notification, Reason};
use crate::service_url::Provenance;
use crate::store::StoredReference;

use super::{LocalHost, StartError};

/// What one run measured.
#[derive(Debug)]
pub struct Figures {
    pub notifications: usize,
    pub latency: Duration,
    pub concurrency: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub peak_rss_kib: Option<u64>,
}

/// Arrival times at the sink, by notification number.
type Arrivals = Arc<Mutex<Vec<(usize, Instant)>>>;

/// Runs one measurement: `notifications` spread over `conversations`, the
/// sink answering after `latency`.
pub async fn run(
    mut settings: Settings,
    data_dir: &Path,
    notifications: usize,
    conversations: usize,
    latency: Duration,
) -> Result<Figures, StartError> {
    let arrivals: Arrivals = Arc::default();
    let sink = start_sink(arrivals.clone(), latency).await?;
    settings.port = 0;
    settings.data_dir = data_dir.to_owned();
    settings.notifier.rate_limits = RateLimits::off();
    let host = LocalHost::start(&settings).await?;
    let store = host.store().clone();
    let service_url = format!("http://{sink}");
    let mut keys = Vec::with_capacity(conversations);
    for n in 0..conversations.max(1) {
        let key = ConversationKey::new("bench", &format!("c{n}"))
            .map_err(|e| StartError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
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
    while arrivals.lock().map(|a| a.len()).unwrap_or(0) < notifications {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut delays: Vec<Duration> = arrivals
        .lock()
        .map(|a| {
            a.iter()
                .map(|(_, at)| at.saturating_duration_since(started))
                .collect()
        })
        .unwrap_or_default();
    delays.sort();
    let last = delays.last().copied().unwrap_or_default();
    let figures = Figures {
        notifications,
        latency,
        concurrency: settings.notifier_concurrency,
        per_second: notifications as f64 / last.as_secs_f64().max(f64::EPSILON),
        p50: percentile(&delays, 50),
        p99: percentile(&delays, 99),
        peak_rss_kib: peak_rss_kib(),
    };
    tracing::info!(enqueue = ?enqueued.duration_since(started), "bench run done");
    host.stop().await;
    Ok(figures)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// This process's peak resident set (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn start_sink(arrivals: Arrivals, latency: Duration) -> Result<SocketAddr, StartError> {
    let app = Router::new()
        .route("/v3/conversations/{conversation}/activities", post(accept))
        .with_state((arrivals, latency));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| StartError::Bind { port: 0, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { port: 0, source })?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn accept(
    State((arrivals, latency)): State<(Arrivals, Duration)>,
    UrlPath(_conversation): UrlPath<String>,
    Json(activity): Json<Activity>,
) -> Json<serde_json::Value> {
    let number = activity
        .text
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(usize::MAX);
    if let Ok(mut arrivals) = arrivals.lock() {
        arrivals.push((number, Instant::now()));
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Json(serde_json::json!({ "id": format!("bench-{number}") }))
}
