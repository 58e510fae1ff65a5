//! HTTP ingress, as one axum router shared by every host: the local host
//! serves it on a port, the messages Lambda function runs it behind API
//! Gateway. Same routes, same status codes, same error bodies everywhere.
//!
//! Every route that reads a body reads it through `body::read_limited`
//! with a limit (413 past it), and parses it into typed values with a short
//! 4xx for anything malformed; routes that take no body never read one.
//! Activities keep unknown fields (the schema is open by design); webhook
//! bodies refuse them.

mod body;
mod content;
mod conversations;
mod error;
pub mod idempotency;
mod jobs;
mod mentions;
mod messages;
mod notifications;
mod notify;
mod paging;
mod reminders;
mod replies;
mod target;
mod team_install;
mod team_place;
mod trace;
mod webhook_auth;
mod webhooks;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

pub use error::ApiError;
pub use messages::parse_activity;
pub use webhook_auth::WebhookGate;

use crate::auth::InboundAuth;
use crate::bot::{Bot, TurnHandler};
use crate::connector::Channel;
use crate::delivery::Limiter;
use crate::queue::Queue;
use crate::service_url::Provenance;
use crate::store::Store;
use crate::turn::Turn;

/// Request size limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest activity accepted on `/api/messages`.
    pub max_activity_bytes: usize,
    /// Largest webhook body.
    pub max_webhook_bytes: usize,
    /// How long an `Idempotency-Key` and its answer are remembered.
    pub idempotency_retention: jiff::SignedDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_activity_bytes: 256 * 1024,
            max_webhook_bytes: 64 * 1024,
            idempotency_retention: jiff::SignedDuration::from_hours(24),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The turn logic.
    pub bot: Arc<Bot>,
    /// Where everything is remembered.
    pub store: Arc<dyn Store>,
    /// Where notifications wait for the notifier.
    pub queue: Arc<dyn Queue>,
    /// Where replies go: the Bot Connector.
    pub channel: Arc<dyn Channel>,
    /// Checks the Bot Connector's token on `/api/messages`.
    pub inbound: Arc<dyn InboundAuth>,
    /// Request size and rate bounds.
    pub limits: Limits,
    /// The rate limits replies take their slots from (`replies`).
    pub limiter: Arc<Limiter>,
    /// How Teams tenants without a conversation are reached (`target`).
    pub teams: crate::reach::TeamsSettings,
}

impl AppState {
    /// The state every host serves: the bot, the store and queue it works
    /// on, the Connector client, the inbound check, the rate limits replies
    /// take their slots from, and the request limits. Hosts build it
    /// through [`crate::assemble::Assembly`], which reads them all from the
    /// settings.
    pub fn new(
        bot: Bot,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        channel: Arc<dyn Channel>,
        inbound: Arc<dyn InboundAuth>,
        limiter: Limiter,
        limits: Limits,
    ) -> AppState {
        AppState {
            bot: Arc::new(bot),
            limiter: Arc::new(limiter),
            store,
            queue,
            channel,
            inbound,
            limits,
            teams: crate::reach::TeamsSettings::default(),
        }
    }

    /// The same state reaching Teams tenants it has no conversation in as
    /// `teams` says (no default service URL unless given).
    pub fn with_teams(mut self, teams: crate::reach::TeamsSettings) -> AppState {
        self.teams = teams;
        self
    }

    /// The same state with the bot's logic for each turn replaced by
    /// `handler` (nudge's own commands unless given): the framework work
    /// around it, the webhook API and delivery stay nudge's.
    pub fn with_turn_handler(mut self, handler: Arc<dyn TurnHandler>) -> AppState {
        self.bot = Arc::new(self.bot.as_ref().clone().with_handler(handler));
        self
    }

    async fn authenticate_headers(
        &self,
        headers: &HeaderMap,
        turn: &Turn,
    ) -> Result<Provenance, ApiError> {
        let authorization = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.inbound
            .authenticate(authorization, turn)
            .await
            .map_err(|failure| {
                tracing::warn!(conversation = %turn.key, failure = %crate::telemetry::untrusted(&failure), "activity refused");
                ApiError::from(failure)
            })
    }
}

/// The routes every host serves.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/messages", post(messages::receive))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// The whole app every host serves: the activity endpoint, and the webhook
/// API behind `gate` (`webhooks.rs`), with JSON answers for unknown routes
/// and methods.
pub fn app(state: AppState, gate: &WebhookGate) -> Router {
    with_fallbacks(router(state.clone()).merge(webhooks::routes(state, gate)))
}

/// Answers unknown routes and methods with JSON errors. Call last, on the
/// fully merged router.
pub fn with_fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn(trace::trace))
}
