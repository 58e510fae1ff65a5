//! The benchmark's stand-in channel: accepts every send and reply (`POST
//! /v3/conversations/{id}/activities[/{replyTo}]`) with 200 after an
//! optional latency, and notes when each arrived. Optionally it enforces
//! the Teams rate limits as Teams does ([`TeamsLimits`]: 429 for a send
//! that breaks them, counted and not recorded as an arrival).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::activity::Activity;

use super::teams_limits::TeamsLimits;

/// One accepted activity.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The number the activity's text carries (`usize::MAX` for a text
    /// that is none).
    pub number: usize,
    /// When it arrived.
    pub at: Instant,
    /// The conversation it was sent to.
    pub conversation: String,
    /// Sent as a reply to an activity (not a new message in the
    /// conversation).
    pub reply: bool,
    /// Its activity type.
    pub kind: String,
}

#[derive(Default)]
struct Seen {
    arrivals: Mutex<Vec<Arrival>>,
    /// `Some` while the Teams limits are enforced.
    teams: Option<Mutex<TeamsLimits>>,
    throttled: AtomicUsize,
}

type Shared = (Arc<Seen>, Duration);

/// A stand-in channel on a loopback port.
pub struct Sink {
    addr: SocketAddr,
    seen: Arc<Seen>,
}

impl Sink {
    /// Serves a sink that accepts everything, after `latency`.
    pub async fn start(latency: Duration) -> std::io::Result<Sink> {
        Sink::serve(latency, false).await
    }

    /// Serves a sink that answers 429 to a send breaking a Teams limit.
    pub async fn enforcing_teams_limits() -> std::io::Result<Sink> {
        Sink::serve(Duration::ZERO, true).await
    }

    async fn serve(latency: Duration, enforce: bool) -> std::io::Result<Sink> {
        let seen = Arc::new(Seen {
            teams: enforce.then(Mutex::default),
            ..Seen::default()
        });
        let app = Router::new()
            .route("/v3/conversations/{conversation}/activities", post(send))
            .route(
                "/v3/conversations/{conversation}/activities/{reply_to}",
                post(reply),
            )
            .with_state((seen.clone(), latency));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sink { addr, seen })
    }

    /// Where it listens (plain HTTP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many sends have been accepted, duplicates included.
    pub fn received(&self) -> usize {
        self.seen.arrivals.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// How many sends the Teams limits refused.
    pub fn throttled(&self) -> usize {
        self.seen.throttled.load(Ordering::SeqCst)
    }

    /// Every accepted activity so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.seen
            .arrivals
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }
}

async fn send(
    State(shared): State<Shared>,
    UrlPath(conversation): UrlPath<String>,
    Json(activity): Json<Activity>,
) -> Response {
    accept(shared, conversation, false, activity).await
}

async fn reply(
    State(shared): State<Shared>,
    UrlPath((conversation, _reply_to)): UrlPath<(String, String)>,
    Json(activity): Json<Activity>,
) -> Response {
    accept(shared, conversation, true, activity).await
}

async fn accept(
    (seen, latency): Shared,
    conversation: String,
    reply: bool,
    activity: Activity,
) -> Response {
    let at = Instant::now();
    if let Some(teams) = &seen.teams {
        let admitted = teams
            .lock()
            .map(|mut limits| limits.admit(&conversation, activity.tenant_id(), at))
            .unwrap_or(false);
        if !admitted {
            seen.throttled.fetch_add(1, Ordering::SeqCst);
            let body =
                serde_json::json!({"error": {"code": "Throttled", "message": "Too many requests"}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        }
    }
    let number = activity
        .text
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(usize::MAX);
    if let Ok(mut arrivals) = seen.arrivals.lock() {
        arrivals.push(Arrival {
            number,
            at,
            conversation,
            reply,
            kind: activity.kind.clone().unwrap_or_default(),
        });
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Json(serde_json::json!({ "id": format!("bench-{number}") })).into_response()
}
