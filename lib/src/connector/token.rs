//! Outbound tokens: how the bot proves itself to the Bot Connector.
//!
//! With an app id and password the bot gets an OAuth2 client-credentials
//! token from Microsoft Entra ID (multi-tenant: the `botframework.com`
//! authority; single-tenant: the bot's own tenant). Tokens last an hour; one
//! is cached per process and refreshed five minutes before it runs out, and
//! only one refresh runs at a time however many sends are waiting. Without an
//! app id (the Emulator case) there is no token and none is sent.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Where a token comes from.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A bearer token for the Connector, or `None` when the bot has no
    /// credentials and calls go out unauthenticated.
    async fn token(&self) -> Result<Option<String>, TokenError>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    #[error("token endpoint {url} refused the credentials ({status}): {detail}")]
    Refused {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("token endpoint {url} unreachable after {attempts} attempts: {detail}")]
    Unreachable {
        url: String,
        attempts: u32,
        detail: String,
    },
}

/// No credentials: the Emulator and local testing.
pub struct NoCredentials;

#[async_trait]
impl TokenSource for NoCredentials {
    async fn token(&self) -> Result<Option<String>, TokenError> {
        Ok(None)
    }
}

/// OAuth2 client credentials against an Entra ID token endpoint.
pub struct ClientCredentials {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    cached: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// Refresh this long before the token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Attempts at the token endpoint before a send gives up.
const ATTEMPTS: u32 = 3;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl ClientCredentials {
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: String,
    ) -> Self {
        ClientCredentials {
            http,
            token_url,
            client_id,
            client_secret,
            scope,
            cached: Mutex::new(None),
        }
    }

    /// One round trip to the token endpoint, with backoff on failures that
    /// may pass (network, 429, 5xx); a 4xx other than 429 is final.
    async fn fetch(&self) -> Result<TokenResponse, TokenError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            let sent = self
                .http
                .post(&self.token_url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &self.client_id),
                    ("client_secret", &self.client_secret),
                    ("scope", &self.scope),
                ])
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() {
                return response.json().await.map_err(|e| TokenError::Refused {
                    url: self.token_url.clone(),
                    status: status.as_u16(),
                    detail: format!("unreadable token response: {e}"),
                });
            }
            let detail = response.text().await.unwrap_or_default();
            if status.is_client_error() && status.as_u16() != 429 {
                return Err(TokenError::Refused {
                    url: self.token_url.clone(),
                    status: status.as_u16(),
                    detail: detail.chars().take(300).collect(),
                });
            }
            last = format!("{status}: {}", detail.chars().take(300).collect::<String>());
        }
        Err(TokenError::Unreachable {
            url: self.token_url.clone(),
            attempts: ATTEMPTS,
            detail: last,
        })
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn token(&self) -> Result<Option<String>, TokenError> {
        // Holding the lock across the fetch makes concurrent callers wait
        // for the one refresh instead of each starting their own.
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(Some(token.value.clone()));
            }
        }
        let fresh = self.fetch().await?;
        let lifetime = Duration::from_secs(fresh.expires_in);
        let token = CachedToken {
            value: fresh.access_token,
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN),
        };
        let value = token.value.clone();
        *cached = Some(token);
        tracing::info!(expires_in_s = fresh.expires_in, "fetched a Connector token");
        Ok(Some(value))
    }
}
