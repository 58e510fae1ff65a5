//! The gate in front of every webhook route: reads the raw body (bounded),
//! checks the request's signature or API key with the host's
//! [`WebhookPolicy`], refuses a signed request it has accepted before, and
//! hands the same bytes on to the handler with the [`Caller`] in the
//! request's extensions. The signature covers the raw bytes, so it must be
//! checked before anything parses them, and the body is read only once.
//!
//! Replays: a signed request is good for the tolerance either side of its
//! timestamp, so the gate remembers the digest of every signed request that
//! acts (every method but `GET` and `HEAD`) it accepts for twice that ([`WebhookPolicy::replay_window`]), with a
//! conditional insert in the store ([`crate::store::WebhookStore::remember_signature`]): a copy
//! sent again, to this process or to any other instance on the same store,
//! is a 409 `SignatureReplayed`. The digest covers the timestamp, method,
//! target and body, so a sender that signs each request anew (a new
//! timestamp) is never refused. One copy passes: a `POST`, `PATCH` or
//! `DELETE` resent exactly,
//! with the same `Idempotency-Key` as the first (a client library's retry
//! after a lost answer), goes on to the idempotency layer, which answers
//! with the first call's answer and acts no more. The key is not signed,
//! so a copy under another key, or none, is still a replay. Reads are not
//! remembered: a copy of a `GET` reads again and changes nothing, and
//! clients poll progress (`GET /api/notifications/{id}`) faster than the
//! timestamp's one-second grain, which would make honest polls replays.
//!
//! Routes opt in with [`WebhookGate::protect`]; a refusal is a bare 401
//! (the reason goes to the log), exactly like a refused activity. `GET`
//! and `HEAD` carry no body: one that does is a 400 `BodyNotAllowed`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use jiff::Timestamp;

use super::body::read_limited;
use super::ApiError;
use crate::auth::webhook::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::auth::webhook::{Caller, Presented, WebhookPolicy};
use crate::store::Store;

/// Middleware state for the webhook routes: checks the signature or API
/// key, and refuses a signed request seen before.
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

    /// `router` with every route behind the gate; `store` keeps the replay
    /// cache.
    pub fn protect<S: Clone + Send + Sync + 'static>(
        &self,
        router: Router<S>,
        store: Arc<dyn Store>,
    ) -> Router<S> {
        let state = Gate {
            gate: self.clone(),
            store,
        };
        router.route_layer(axum::middleware::from_fn_with_state(state, verify))
    }
}

#[derive(Clone)]
struct Gate {
    gate: WebhookGate,
    store: Arc<dyn Store>,
}

async fn verify(
    State(Gate { gate, store }): State<Gate>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let bytes = read_limited(body, gate.max_body).await?;
    if matches!(parts.method, Method::GET | Method::HEAD) && !bytes.is_empty() {
        return Err(ApiError::bad_request(
            "BodyNotAllowed",
            "a GET or HEAD request carries no body",
        ));
    }
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let presented = Presented {
        method: parts.method.as_str(),
        target,
        authorization: header(AUTHORIZATION.as_str()),
        timestamp: header(TIMESTAMP_HEADER),
        signature: header(SIGNATURE_HEADER),
    };
    let now = Timestamp::now();
    let caller = match gate.policy.check(&presented, &bytes, now) {
        Ok(caller) => caller,
        Err(failure) => {
            tracing::warn!(
                path = %crate::telemetry::untrusted(&parts.uri.path()),
                failure = %crate::telemetry::untrusted(&failure),
                "webhook refused"
            );
            return Err(failure.into());
        }
    };
    let reads = matches!(parts.method, Method::GET | Method::HEAD);
    if let Some(digest) = caller.signed.as_ref().filter(|_| !reads) {
        let key = if super::idempotency::takes_keys(&parts.method) {
            header(super::idempotency::HEADER).unwrap_or_default()
        } else {
            ""
        };
        refuse_replay(store.as_ref(), &gate.policy, digest, key, now).await?;
    }
    parts.extensions.insert::<Caller>(caller);
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// Remembers a signed request's digest; 409 if it was remembered already,
/// unless both copies carry the same `Idempotency-Key`.
async fn refuse_replay(
    store: &dyn Store,
    policy: &WebhookPolicy,
    digest: &str,
    idempotency_key: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    let until = now
        .checked_add(policy.replay_window())
        .unwrap_or(Timestamp::MAX);
    let seen = store
        .remember_signature(digest, idempotency_key, until, now)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    match seen {
        None => return Ok(()),
        Some(first_key) if !first_key.is_empty() && first_key == idempotency_key => return Ok(()),
        Some(_) => {}
    }
    tracing::warn!(digest, "replayed webhook refused");
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "SignatureReplayed",
        "this signed request was accepted before; sign each request anew",
    ))
}
