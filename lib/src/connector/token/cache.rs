//! The token cache every outbound token source shares.
//!
//! - One token per process, reused until [`REFRESH_MARGIN`] before it
//!   expires (or half its lifetime, for short-lived tokens).
//! - One refresh at a time: the lock is held across the fetch, so a burst of
//!   sends that all find the token stale waits for one request to the
//!   endpoint instead of each making its own.
//! - Failures that may pass (network, 429, 5xx) are retried with backoff;
//!   a refusal (another 4xx) is final at once and reported with the
//!   endpoint's own error code and description.
//! - If a refresh fails while the cached token is still valid, the cached
//!   one is used: refreshing early must never make a send fail that would
//!   have worked.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use async_trait::async_trait;

use super::{TokenError, TokenSource};
use crate::fetch::{describe, read_bounded, truncate};

/// Refresh this long before the token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Attempts at the endpoint before a send gives up.
pub const ATTEMPTS: u32 = 3;
/// Wait before the second attempt; doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(400);
/// Largest token response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// How one token request is made; the cache does the rest. A new way to
/// get a token (a federated credential, a certificate) is one more of these.
pub trait Request: Send + Sync {
    /// The endpoint, for error messages.
    fn url(&self) -> &str;
    /// A ready request to the endpoint.
    fn build(&self) -> reqwest::RequestBuilder;
}

/// A token source: `R`'s requests, behind the shared cache.
pub struct Cached<R> {
    request: R,
    held: Mutex<Option<Held>>,
}

struct Held {
    value: String,
    refresh_at: Instant,
    expires_at: Instant,
}

/// A token and how long it lives.
struct Fresh {
    value: String,
    lifetime: Duration,
}

/// Why one attempt failed.
enum Failure {
    Final { status: u16, detail: String },
    Transient(String),
}

impl<R: Request> Cached<R> {
    /// A cache, empty, of the tokens `request` fetches.
    pub fn with_request(request: R) -> Self {
        Cached {
            request,
            held: Mutex::new(None),
        }
    }

    /// The token, and how long until the cache will fetch a new one (for
    /// callers that cache it themselves, such as the Azure SDK's pipeline).
    pub async fn token_and_refresh_in(&self) -> Result<(String, Duration), TokenError> {
        let (value, refresh_at) = self.cached_token().await?;
        Ok((value, refresh_at.saturating_duration_since(Instant::now())))
    }

    async fn cached_token(&self) -> Result<(String, Instant), TokenError> {
        // Holding the lock across the fetch makes concurrent callers wait
        // for the one refresh instead of each starting their own.
        let mut held = self.held.lock().await;
        let now = Instant::now();
        if let Some(token) = held.as_ref().filter(|t| now < t.refresh_at) {
            return Ok((token.value.clone(), token.refresh_at));
        }
        match self.fetch().await {
            Ok(fresh) => {
                let now = Instant::now();
                let early = fresh
                    .lifetime
                    .saturating_sub(REFRESH_MARGIN)
                    .max(fresh.lifetime / 2);
                tracing::info!(
                    endpoint = self.request.url(),
                    lifetime_s = fresh.lifetime.as_secs(),
                    "fetched a token"
                );
                let value = (fresh.value.clone(), now + early);
                *held = Some(Held {
                    value: fresh.value,
                    refresh_at: now + early,
                    expires_at: now + fresh.lifetime,
                });
                Ok(value)
            }
            Err(error) => match held.as_ref().filter(|t| Instant::now() < t.expires_at) {
                Some(still_valid) => {
                    tracing::warn!(%error, "token refresh failed; using the cached token until it expires");
                    // Ask again soon: the refresh is overdue.
                    Ok((still_valid.value.clone(), Instant::now()))
                }
                None => Err(error),
            },
        }
    }

    async fn fetch(&self) -> Result<Fresh, TokenError> {
        let url = self.request.url();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(attempt - 2)).await;
            }
            match self.attempt().await {
                Ok(fresh) => return Ok(fresh),
                Err(Failure::Final { status, detail }) => {
                    tracing::error!(endpoint = url, status, %detail, "the token endpoint refused the credentials");
                    return Err(TokenError::Refused {
                        url: url.to_owned(),
                        status,
                        detail,
                    });
                }
                Err(Failure::Transient(why)) => {
                    tracing::warn!(endpoint = url, attempt, reason = %why, "token request failed");
                    last = why;
                }
            }
        }
        Err(TokenError::Unreachable {
            url: url.to_owned(),
            attempts: ATTEMPTS,
            detail: last,
        })
    }

    async fn attempt(&self) -> Result<Fresh, Failure> {
        let response = self
            .request
            .build()
            .send()
            .await
            .map_err(|e| Failure::Transient(describe(&e)))?;
        let status = response.status();
        let body = read_bounded(response, MAX_RESPONSE)
            .await
            .map_err(Failure::Transient)?;
        if status.is_success() {
            return parse_token(&body).map_err(|why| Failure::Final {
                status: status.as_u16(),
                detail: why,
            });
        }
        let detail = describe_error_body(&body);
        if status.as_u16() == 429 || status.is_server_error() {
            Err(Failure::Transient(format!("{status}: {detail}")))
        } else {
            Err(Failure::Final {
                status: status.as_u16(),
                detail,
            })
        }
    }
}

#[async_trait]
impl<R: Request> TokenSource for Cached<R> {
    async fn token(&self) -> Result<Option<String>, TokenError> {
        self.cached_token().await.map(|(value, _)| Some(value))
    }
}

/// The fields both Entra ID and the managed-identity endpoints answer with.
/// `expires_in` and `expires_on` are numbers from Entra ID and strings from
/// the managed-identity endpoints.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    expires_on: Option<Value>,
}

fn seconds(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_token(body: &[u8]) -> Result<Fresh, String> {
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("unreadable token response: {e}"))?;
    if parsed.access_token.is_empty() {
        return Err("the token response has an empty access_token".into());
    }
    let lifetime = seconds(parsed.expires_in.as_ref())
        .or_else(|| {
            let expires_on = seconds(parsed.expires_on.as_ref())?;
            let now = jiff::Timestamp::now().as_second();
            u64::try_from(i64::try_from(expires_on).ok()?.saturating_sub(now)).ok()
        })
        .ok_or("the token response says neither expires_in nor expires_on")?;
    Ok(Fresh {
        value: parsed.access_token,
        lifetime: Duration::from_secs(lifetime),
    })
}

/// `error: error_description` from an OAuth2 error body, else the start of
/// whatever it is. Entra ID's descriptions start with the AADSTS code that
/// names the problem ("AADSTS7000215: Invalid client secret provided").
fn describe_error_body(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: Option<String>,
        error_description: Option<String>,
    }
    if let Ok(OAuthError {
        error: Some(error),
        error_description,
    }) = serde_json::from_slice::<OAuthError>(body)
    {
        let description = error_description.unwrap_or_default();
        let first_line = description.lines().next().unwrap_or_default();
        return truncate(&format!("{error}: {first_line}"), 300);
    }
    truncate(String::from_utf8_lossy(body).trim(), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entra_and_managed_identity_shapes() {
        let entra = parse_token(br#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#)
            .unwrap();
        assert_eq!(
            (entra.value.as_str(), entra.lifetime.as_secs()),
            ("t", 3599)
        );
        let imds =
            parse_token(br#"{"access_token":"m","expires_in":"3600","expires_on":"1"}"#).unwrap();
        assert_eq!(imds.lifetime.as_secs(), 3600);
        let later = jiff::Timestamp::now().as_second() + 1000;
        let app_service =
            parse_token(format!(r#"{{"access_token":"a","expires_on":"{later}"}}"#).as_bytes())
                .unwrap();
        assert!((995..=1000).contains(&app_service.lifetime.as_secs()));
        assert!(parse_token(br#"{"access_token":"x"}"#).is_err());
        assert!(parse_token(br#"{"access_token":"","expires_in":1}"#).is_err());
        assert!(parse_token(b"<html>").is_err());
    }

    #[test]
    fn describes_oauth_errors_by_code_and_first_line() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}"#;
        assert_eq!(
            describe_error_body(body),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(describe_error_body(b" upstream down "), "upstream down");
    }
}
