//! Outbound tokens: how the bot proves itself to the Bot Connector.
//!
//! Three ways, after `MicrosoftAppType`:
//! - `MultiTenant` and `SingleTenant`: an OAuth2 client-credentials token
//!   from Microsoft Entra ID ([`ClientCredentials`]); the authority is
//!   `botframework.com` for multi-tenant bots and the bot's own tenant for
//!   single-tenant ones (see `config::AppIdentity::token_url`).
//! - `UserAssignedMSI`: a managed identity's token from the Azure host's
//!   identity endpoint ([`ManagedIdentity`]): no secret anywhere. It fits
//!   the Azure Functions host; AWS has no Entra managed identity, so the
//!   Lambda functions use a client secret.
//!
//! Every source shares one cache ([`Cached`]): a token is fetched once per
//! process, reused until shortly before it expires, refreshed by one caller
//! while the others wait for that refresh, and fetched with retries and
//! backoff when the endpoint falters. Without an app id (the Emulator case)
//! there is no token and none is sent ([`NoCredentials`]).

mod cache;
mod client_credentials;
mod managed_identity;

use std::sync::Arc;

use async_trait::async_trait;

pub use cache::{Cached, Request};
pub use client_credentials::{ClientCredentials, ClientSecret};
pub use managed_identity::{ManagedIdentity, MsiEndpoint, MsiRequest};

use crate::connector::{AppIdentity, AppType};
use crate::env::ConfigError;

/// Where a token comes from.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A bearer token for the Connector, or `None` when the bot has no
    /// credentials and calls go out unauthenticated.
    async fn token(&self) -> Result<Option<String>, TokenError>;
}

/// Why no token could be had for a Connector call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The endpoint answered, and said no: wrong secret, unknown app,
    /// disabled identity. Retrying will not help.
    #[error("token endpoint {url} refused the request ({status}): {detail}")]
    Refused {
        /// The token endpoint.
        url: String,
        /// Its HTTP status.
        status: u16,
        /// Its error description.
        detail: String,
    },
    /// No usable answer after every attempt: network failures, 429, 5xx.
    #[error("token endpoint {url} unreachable after {attempts} attempts: {detail}")]
    Unreachable {
        /// The token endpoint.
        url: String,
        /// How often it was tried.
        attempts: u32,
        /// The last failure.
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

/// The token source for a configured identity: what every host calls.
pub fn for_app(
    app: &AppIdentity,
    http: reqwest::Client,
) -> Result<Arc<dyn TokenSource>, ConfigError> {
    match app.app_type {
        AppType::MultiTenant | AppType::SingleTenant => {
            let password = app.password.clone().ok_or_else(|| ConfigError {
                variable: "MicrosoftAppPassword",
                problem: "is required with MicrosoftAppId (unless MicrosoftAppType is \
                          UserAssignedMSI)"
                    .into(),
            })?;
            Ok(Arc::new(ClientCredentials::new(
                http,
                app.token_url(),
                app.app_id.clone(),
                password,
                app.scope(),
            )))
        }
        AppType::UserAssignedMsi => {
            let endpoint = app.managed_identity.clone().ok_or_else(|| ConfigError {
                variable: "MicrosoftAppType",
                problem: "UserAssignedMSI needs a managed identity endpoint".into(),
            })?;
            Ok(Arc::new(ManagedIdentity::new(
                http,
                endpoint,
                Some(app.app_id.clone()),
                app.oauth_scope.trim_end_matches('/').to_owned(),
            )))
        }
    }
}
