//! `nudge bench`'s runs at the channel's limits: the local host with its
//! configured rate limits (Teams' by default) against a sink that enforces
//! the Teams limits exactly ([`super::teams_limits`]), so every figure
//! comes with the number of 429s it cost.
//!
//! - [`broadcast`]: one broadcast to `conversations` subscribers spread
//!   over `tenants` tenants; the rate is sends per second from the first
//!   arrival to the last, and its ratio to the limit (the bot's limit per
//!   tenant times the tenants).
//! - [`replies`]: `users` users each write `subscribe` within about two
//!   seconds; every one should get the in-turn reply and, a few seconds
//!   later, the proactive confirmation.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::activity::Activity;
use crate::config::Settings;
use crate::ids::NotificationId;
use crate::notification::{enqueue, Notification, Operation, Reason, Target};
use crate::service_url::Provenance;
use crate::store::StoredReference;

use super::super::{LocalHost, StartError};
use super::{bench_key, peak_rss_kib, percentile, Sink};

/// How long a run waits for its last arrival before reporting what it has.
const PATIENCE: Duration = Duration::from_secs(300);

/// What one broadcast measured.
#[derive(Debug)]
pub struct BroadcastFigures {
    pub conversations: usize,
    pub tenants: usize,
    /// The bot's limit in all the tenants together, per second.
    pub limit_per_second: f64,
    /// Sends per second, first arrival to last.
    pub per_second: f64,
    pub delivered: usize,
    pub throttled: usize,
    pub peak_rss_kib: Option<u64>,
}

impl BroadcastFigures {
    /// The rate as a share of the limit.
    pub fn of_limit(&self) -> f64 {
        self.per_second / self.limit_per_second.max(f64::EPSILON)
    }
}

/// Broadcasts one message to `conversations` subscribers over `tenants`
/// tenants and waits until every one has it.
pub async fn broadcast(
    settings: Settings,
    data_dir: &Path,
    conversations: usize,
    tenants: usize,
) -> Result<BroadcastFigures, StartError> {
    let tenants = tenants.max(1);
    let per_tenant = settings.notifier.rate_limits.bot_per_second;
    let (sink, host) = start(settings, data_dir).await?;
    let store = host.store().clone();
    let service_url = format!("http://{}", sink.addr());
    for n in 0..conversations {
        let key = bench_key(&format!("b{n}"))?;
        let mut reference = StoredReference::minimal(&key, &service_url, Provenance::Verified);
        if let Some(conversation) = reference.reference.conversation.as_mut() {
            conversation.tenant_id = Some(format!("tenant-{}", n % tenants));
        }
        store.save_reference(&reference).await?;
        store
            .subscribe(&key, Some("bench"), jiff::Timestamp::now())
            .await?;
    }
    let broadcast = Notification {
        id: NotificationId::generate(),
        target: Target::Subscribers {
            tag: Some("bench".to_owned()),
            after: None,
        },
        activity: Activity::message("1"),
        reason: Reason::Broadcast,
        not_before: None,
        operation: Operation::Send,
    };
    enqueue(host.queue(), &[broadcast]).await?;
    wait_for(&sink, conversations).await;
    let arrivals = sink.arrivals();
    let span = match (arrivals.first(), arrivals.last()) {
        (Some(first), Some(last)) => last.at.duration_since(first.at),
        _ => Duration::ZERO,
    };
    let figures = BroadcastFigures {
        conversations,
        tenants,
        limit_per_second: f64::from(per_tenant) * tenants as f64,
        per_second: arrivals.len().saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9),
        delivered: arrivals.len(),
        throttled: sink.throttled(),
        peak_rss_kib: peak_rss_kib(None),
    };
    host.stop().await;
    Ok(figures)
}

/// What one burst of users' messages measured.
#[derive(Debug)]
pub struct ReplyFigures {
    pub users: usize,
    /// In-turn replies the channel accepted.
    pub replies: usize,
    /// Proactive confirmations the channel accepted.
    pub confirmations: usize,
    pub throttled: usize,
    /// How long the bot took to answer the channel's POST.
    pub turn_p50: Duration,
    pub turn_p99: Duration,
    /// First message to last arrival.
    pub took: Duration,
    /// The peak resident memory of the run's process, where readable.
    pub peak_rss_kib: Option<u64>,
}

/// `users` users (personal chats in one tenant) each write `subscribe`,
/// spread evenly over about two seconds; waits for every reply and
/// confirmation (or `PATIENCE`).
pub async fn replies(
    settings: Settings,
    data_dir: &Path,
    users: usize,
) -> Result<ReplyFigures, StartError> {
    let (sink, host) = start(settings, data_dir).await?;
    let endpoint = format!("http://{}/api/messages", host.addr());
    let service_url = format!("http://{}", sink.addr());
    let http = crate::connector::ConnectorClient::http_client();
    let started = Instant::now();
    let spacing = Duration::from_secs(2) / u32::try_from(users.max(1)).unwrap_or(u32::MAX);
    let turns: Vec<_> = (0..users)
        .map(|n| {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            let activity = subscribe_activity(n, &service_url);
            tokio::spawn(async move {
                tokio::time::sleep(spacing * u32::try_from(n).unwrap_or(u32::MAX)).await;
                let asked = Instant::now();
                let answered = http.post(&endpoint).json(&activity).send().await;
                (answered.map(|r| r.status().as_u16()).ok(), asked.elapsed())
            })
        })
        .collect();
    let mut times = Vec::with_capacity(users);
    let mut refused = 0;
    for turn in turns {
        match turn.await {
            Ok((Some(200), took)) => times.push(took),
            _ => refused += 1,
        }
    }
    if refused > 0 {
        tracing::warn!(refused, "the bot did not answer every turn with 200");
    }
    wait_for(&sink, users * 2).await;
    let arrivals = sink.arrivals();
    times.sort();
    let figures = ReplyFigures {
        users,
        replies: arrivals
            .iter()
            .filter(|a| a.reply && a.kind == "message")
            .count(),
        confirmations: arrivals
            .iter()
            .filter(|a| !a.reply && a.kind == "message")
            .count(),
        throttled: sink.throttled(),
        turn_p50: percentile(&times, 50),
        turn_p99: percentile(&times, 99),
        took: arrivals
            .last()
            .map_or(Duration::ZERO, |a| a.at.duration_since(started)),
        peak_rss_kib: peak_rss_kib(None),
    };
    host.stop().await;
    Ok(figures)
}

/// A personal chat's `subscribe`, as Teams would post it.
fn subscribe_activity(n: usize, service_url: &str) -> serde_json::Value {
    json!({
        "type": "message",
        "id": format!("m{n}"),
        "text": "subscribe",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": format!("user-{n}"), "name": format!("User {n}")},
        "recipient": {"id": "bench-bot", "name": "nudge"},
        "conversation": {"id": format!("personal-{n}"), "conversationType": "personal", "tenantId": "bench-tenant"},
        "channelData": {"tenant": {"id": "bench-tenant"}},
    })
}

/// The sink enforcing the Teams limits, and the local host on a fresh
/// data directory, answering on a free port.
async fn start(mut settings: Settings, data_dir: &Path) -> Result<(Sink, LocalHost), StartError> {
    let sink = Sink::enforcing_teams_limits()
        .await
        .map_err(|source| StartError::Bind { port: 0, source })?;
    settings.port = 0;
    settings.data_dir = data_dir.to_owned();
    let host = LocalHost::start(&settings).await?;
    Ok((sink, host))
}

/// Waits until the sink has accepted `count` sends, or [`PATIENCE`].
async fn wait_for(sink: &Sink, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    let mut last = (0, Instant::now());
    while sink.received() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let received = sink.received();
        if received != last.0 {
            last = (received, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(30) {
            tracing::warn!(
                received,
                expected = count,
                "nothing arrived for 30 s; giving up"
            );
            return;
        }
    }
}
