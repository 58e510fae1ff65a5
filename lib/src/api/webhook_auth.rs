//! The gate in front of every webhook route: reads the raw body (bounded),
//! checks the request's signature or API key with the host's
//! [`WebhookPolicy`], and hands the same bytes on to the handler. The
//! signature covers the raw bytes, so it must be checked before anything
//! parses them, and the body is read only once.
//!
//! Routes opt in with [`WebhookGate::protect`]; a refusal is a bare 401
//! (the reason goes to the log), exactly like a refused activity.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use jiff::Timestamp;

use super::body::read_limited;
use super::ApiError;
use crate::auth::webhook::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::auth::webhook::{Presented, WebhookPolicy};

#[derive(Clone)]
pub struct WebhookGate {
    policy: Arc<WebhookPolicy>,
    max_body: usize,
}

impl WebhookGate {
    /// `max_body`: the largest webhook body read (413 past it).
    pub fn new(policy: WebhookPolicy, max_body: usize) -> Self {
        WebhookGate {
            policy: Arc::new(policy),
            max_body,
        }
    }

    /// `router` with every route behind the gate.
    pub fn protect<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.route_layer(axum::middleware::from_fn_with_state(self.clone(), verify))
    }
}

async fn verify(
    State(gate): State<WebhookGate>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = read_limited(body, gate.max_body).await?;
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let target = signature::target(parts.method.as_str(), path_and_query);
    let presented = Presented {
        target: &target,
        authorization: header(AUTHORIZATION.as_str()),
        timestamp: header(TIMESTAMP_HEADER),
        signature: header(SIGNATURE_HEADER),
    };
    if let Err(failure) = gate.policy.check(&presented, &bytes, Timestamp::now()) {
        tracing::warn!(path = parts.uri.path(), %failure, "webhook refused");
        return Err(failure.into());
    }
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}
