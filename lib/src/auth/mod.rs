//! Inbound authentication: is this request really from who it says?
//!
//! Two kinds of callers reach nudge, and each proves itself differently:
//!
//! - **Channels**, on `/api/messages`, with a Bot Framework JWT
//!   ([`botframework::BotFrameworkAuth`]): signed by the Bot Connector (or,
//!   for the Emulator, by Entra ID with the bot's own credentials), checked
//!   against the published keys, issuer, audience, lifetime, service URL and
//!   channel endorsement before the bot sees or stores anything.
//! - **External systems**, on the webhook routes, with an HMAC signature of
//!   the raw body or an API key ([`webhook`]).
//!
//! Failures are answered with a bare 401 (403 when a valid token's key is
//! not endorsed for the channel) and logged with the reason: an attacker
//! learns nothing from the answer, an operator everything from the log.
//!
//! [`Unauthenticated`] exists only for the local host without an app id
//! (the Emulator on the same machine), which says so loudly when it starts.
//! Cloud hosts build their checks with [`botframework::BotFrameworkAuth::for_app`]
//! and [`webhook::WebhookPolicy::required`], which refuse to exist without
//! credentials: there is no switch that turns validation off.

mod bearer;
pub mod botframework;
pub mod webhook;

use async_trait::async_trait;

pub use botframework::{BotFrameworkAuth, InboundSettings};
pub use webhook::{WebhookPolicy, WebhookSettings};

use crate::connector::AppIdentity;
use crate::env::ConfigError;
use crate::service_url::Provenance;
use crate::turn::Turn;

/// Why a request was refused. The reason is for the log; the caller
/// answers with a bare status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// 401: no credentials, or credentials that do not check out.
    #[error("unauthenticated: {0}")]
    Unauthorized(String),
    /// 403: valid credentials that may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 503: the credentials cannot be checked right now (the signing keys
    /// could not be fetched); the channel should retry.
    #[error("cannot authenticate now: {0}")]
    Unavailable(String),
}

/// How `/api/messages` authenticates the channel: Bot Framework tokens
/// ([`BotFrameworkAuth`]), or none on the local host without an app id.
#[async_trait]
pub trait InboundAuth: Send + Sync {
    /// Checks the request's `Authorization` header value against the turn,
    /// and says whether the turn's service URL was vouched for.
    async fn authenticate(
        &self,
        authorization: Option<&str>,
        turn: &Turn,
    ) -> Result<Provenance, AuthFailure>;
}

/// Accepts everything and vouches for nothing. Only the local host may use
/// it, and only without an app id.
pub struct Unauthenticated;

#[async_trait]
impl InboundAuth for Unauthenticated {
    async fn authenticate(&self, _: Option<&str>, _: &Turn) -> Result<Provenance, AuthFailure> {
        Ok(Provenance::Unverified)
    }
}

/// Why a host cannot set up authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error(
        "MicrosoftAppId is not set: this host refuses to run without authenticating the \
         Bot Connector (only the local host may, for the Emulator)"
    )]
    /// A cloud host without `MicrosoftAppId`.
    NoAppId,
    #[error(
        "no webhook credentials: set {} or {}; this host refuses to accept unsigned webhooks",
        WebhookSettings::SECRETS,
        WebhookSettings::API_KEYS
    )]
    /// A cloud host without webhook credentials.
    NoWebhookCredentials,
    /// The local host with an app id, or listening beyond loopback, and no
    /// webhook credential: someone else could reach the webhook API.
    #[error(
        "no webhook credentials: set {secrets} or {keys}. Unsigned webhooks are accepted only \
         while MicrosoftAppId is unset and the host listens on loopback only; {0}, so the \
         webhook API (/api/notify, /api/conversations, ...) could be reached by others",
        secrets = WebhookSettings::SECRETS,
        keys = WebhookSettings::API_KEYS
    )]
    ExposedWebhooks(&'static str),
    /// The local host asked to listen beyond loopback without an app id.
    #[error(
        "NUDGE_BIND={0} without MicrosoftAppId: a host that others can reach must authenticate \
         the Bot Connector; set MicrosoftAppId (and MicrosoftAppPassword), or listen on \
         127.0.0.1"
    )]
    ExposedWithoutAppId(std::net::IpAddr),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The bot's identity, or the error a cloud function stops with.
pub fn require_app_id(app: Option<&AppIdentity>) -> Result<&AppIdentity, SetupError> {
    app.ok_or(SetupError::NoAppId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_hosts_cannot_build_their_checks_without_credentials() {
        let bare = crate::config::Settings::from_env(&[("UNRELATED", "1")]).unwrap();
        assert_eq!(
            require_app_id(bare.app.as_ref()).err(),
            Some(SetupError::NoAppId)
        );
        assert!(matches!(
            BotFrameworkAuth::for_app(
                bare.app.as_ref(),
                &bare.inbound,
                crate::connector::ConnectorClient::http_client()
            ),
            Err(SetupError::NoAppId)
        ));
        assert!(matches!(
            WebhookPolicy::required(&bare.webhooks),
            Err(SetupError::NoWebhookCredentials)
        ));
        assert!(SetupError::NoAppId.to_string().contains("MicrosoftAppId"));
        let with_app = crate::config::Settings::from_env(&[("MicrosoftAppId", "app")]).unwrap();
        assert!(BotFrameworkAuth::for_app(
            with_app.app.as_ref(),
            &with_app.inbound,
            crate::connector::ConnectorClient::http_client()
        )
        .is_ok());
    }
}
