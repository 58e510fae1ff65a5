//! `Idempotency-Key`: a retried webhook call gets the first call's answer
//! instead of acting twice.
//!
//! A `POST`, `PATCH` or `DELETE` that carries the header is fingerprinted (method, path and the
//! SHA-256 of the body) and claims the key in the store with a conditional
//! write before its handler runs:
//!
//! - **free key**: the handler runs, and its answer (status and body) is
//!   stored under the key for [`super::Limits::idempotency_retention`];
//!   a 5xx answer releases the key instead, so a retry can act;
//! - **answered, same call**: the stored answer is replayed, marked with
//!   `Idempotent-Replayed: true`, and nothing acts;
//! - **answered or running, different call**: 422 `IdempotencyKeyReused`
//!   (a key names one call; reusing it for another is a client bug);
//! - **same call still running**: 409 `IdempotencyKeyInUse`, retry later.
//!   A call that dies holding a key (a crash) frees it after [`LEASE`].
//!
//! Runs inside the webhook gate: only authenticated calls reach the store,
//! and each key is kept per credential ([`Caller::credential`]: one signing
//! secret, one API key), so one sender's key never answers, or blocks,
//! another's call. A retry must therefore use the same credential as the
//! first call. Calls without the header, and `GET`s, pass straight through.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use ring::digest;

use super::body::read_limited;
use super::{ApiError, AppState};
use crate::auth::webhook::Caller;
use crate::ids::IdempotencyKey;
use crate::store::{IdempotencyClaim, IdempotencyRecord, StoredResponse};

/// The request header that names a call's idempotency key.
pub const HEADER: &str = "idempotency-key";
/// Marks a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a call may hold its key before another may take it over.
pub const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// Largest answer kept for replay (webhook answers are small JSON).
const MAX_STORED_BODY: usize = 64 * 1024;

/// Middleware: a call with an `Idempotency-Key` runs once per key and
/// caller; a retry gets the first answer (marked [`REPLAYED_HEADER`]), a
/// retry while it still runs a 409, and the key reused for another call a
/// 422.
pub async fn idempotent(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(raw) = request.headers().get(HEADER) else {
        return Ok(next.run(request).await);
    };
    if !takes_keys(request.method()) {
        return Ok(next.run(request).await);
    }
    let key: IdempotencyKey = raw
        .to_str()
        .ok()
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "InvalidIdempotencyKey",
                "Idempotency-Key is 1 to 255 printable ASCII characters without spaces",
            )
        })?;
    let credential = request
        .extensions()
        .get::<Caller>()
        .map_or("unknown", |caller| caller.credential.as_str());
    let key = key.scoped(credential);
    let (parts, body) = request.into_parts();
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let now = Timestamp::now();
    let claim = IdempotencyRecord {
        key,
        fingerprint: fingerprint(&parts.method, parts.uri.path(), &bytes),
        created_at: now,
        expires_at: now
            .checked_add(app.limits.idempotency_retention)
            .unwrap_or(Timestamp::MAX),
        lease_until: now.checked_add(LEASE).ok(),
        response: None,
    };
    let store = app.store.as_ref();
    let failed = |e: crate::store::StoreError| ApiError::internal(&e);
    match store
        .claim_idempotency_key(&claim, now)
        .await
        .map_err(failed)?
    {
        IdempotencyClaim::Existing(prior) if prior.fingerprint != claim.fingerprint => {
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IdempotencyKeyReused",
                "this Idempotency-Key was used for a different call; use a new key per call",
            ))
        }
        IdempotencyClaim::Existing(prior) => match prior.response {
            Some(answer) => Ok(replay(answer)),
            None => Err(ApiError::new(
                StatusCode::CONFLICT,
                "IdempotencyKeyInUse",
                "a call with this Idempotency-Key is still being answered; retry shortly",
            )),
        },
        IdempotencyClaim::Claimed => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, MAX_STORED_BODY)
                .await
                .map_err(|e| ApiError::internal(&*e.into_inner()))?;
            let record = settled(claim, parts.status, &body);
            if let Err(error) = store.put_idempotency_record(&record).await {
                // The call has acted: its answer is still the truth. The key
                // frees itself when the lease runs out.
                tracing::error!(%error, key = %record.key, "could not keep an idempotent answer");
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

/// The claimed record after the handler answered: with the answer, or
/// released (no answer, no lease) when it failed on our side.
fn settled(mut record: IdempotencyRecord, status: StatusCode, body: &Bytes) -> IdempotencyRecord {
    record.lease_until = None;
    if !status.is_server_error() {
        record.response = Some(StoredResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }
    record
}

fn replay(answer: StoredResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Whether calls of `method` may carry a key: the ones that act (`POST`,
/// `PATCH`, `DELETE`). Reads need none.
pub fn takes_keys(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::DELETE)
}

/// Hex SHA-256 of the method, the path and the body's own SHA-256.
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let body = digest::digest(&digest::SHA256, body);
    let mut call = format!("{method} {path}\n").into_bytes();
    call.extend_from_slice(body.as_ref());
    hex::encode(digest::digest(&digest::SHA256, &call).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_calls_apart() {
        let f = fingerprint(&Method::POST, "/api/notify", b"{}");
        assert_eq!(f, fingerprint(&Method::POST, "/api/notify", b"{}"));
        assert_ne!(f, fingerprint(&Method::POST, "/api/reminders", b"{}"));
        assert_ne!(f, fingerprint(&Method::POST, "/api/notify", b"{ }"));
        assert_eq!(f.len(), 64);
    }
}
