//! HTTP ingress, as one axum router shared by every host: the local host
//! serves it on a port, the messages Lambda function runs it behind API
//! Gateway. Same routes, same status codes, same error bodies everywhere.

mod body;
mod error;
mod messages;
pub mod notify;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

pub use error::ApiError;

use crate::auth::{AuthFailure, InboundAuth};
use crate::bot::Bot;
use crate::connector::ConnectorClient;
use crate::queue::Queue;
use crate::store::Store;
use crate::turn::Turn;

/// Request size limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest activity accepted on `/api/messages`.
    pub max_activity_bytes: usize,
    /// Largest webhook body.
    pub max_webhook_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_activity_bytes: 256 * 1024,
            max_webhook_bytes: 64 * 1024,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub bot: Arc<Bot>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub connector: ConnectorClient,
    pub inbound: Arc<dyn InboundAuth>,
    pub limits: Limits,
}

impl AppState {
    async fn authenticate_headers(&self, headers: &HeaderMap, turn: &Turn) -> Result<(), ApiError> {
        let authorization = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.inbound
            .authenticate(authorization, turn)
            .await
            .map_err(|failure| {
                tracing::warn!(conversation = %turn.key, %failure, "activity refused");
                match failure {
                    AuthFailure::Unauthorized(_) => ApiError::new(
                        axum::http::StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        "missing or invalid credentials",
                    ),
                    AuthFailure::Forbidden(_) => ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "Forbidden",
                        "these credentials may not do this",
                    ),
                }
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

/// Answers unknown routes and methods with JSON errors. Call last, on the
/// fully merged router.
pub fn with_fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
}
