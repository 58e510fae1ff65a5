//! The local host's security posture, decided once at start-up and said out
//! loud when anything is open.
//!
//! - With `MicrosoftAppId`: activities are validated exactly as on a cloud
//!   host ([`BotFrameworkAuth`]) and replies carry the app's token.
//! - Without it: the Emulator case. No inbound check, no outbound token, a
//!   warning, loopback only (a wider `NUDGE_BIND` is refused), and the
//!   [`super::browser_guard`] in front of every route, since a web page in
//!   the developer's browser is on this machine too. Only the local host
//!   can run like this; cloud hosts refuse to start.
//! - Webhooks: signed (or API-keyed) when a credential is configured; open
//!   only while there is no app id and the host listens on loopback only
//!   (with an app id the host is usually behind a dev tunnel), with a
//!   warning; otherwise the host refuses to start.
//! - Service URLs: HTTPS to trusted hosts, plus plain HTTP to this machine.

use std::sync::Arc;

use crate::api::WebhookGate;
use crate::auth::{BotFrameworkAuth, InboundAuth, SetupError, Unauthenticated, WebhookPolicy};
use crate::config::Settings;
use crate::connector::{token, ConnectorClient, NoCredentials, TokenSource, TrustPolicy};

pub(super) struct Security {
    pub tokens: Arc<dyn TokenSource>,
    pub inbound: Arc<dyn InboundAuth>,
    pub trust: TrustPolicy,
    pub webhooks: WebhookGate,
    /// Whether activities are taken without authentication (no app id):
    /// then the browser guard stands in front of every route.
    pub unauthenticated: bool,
}

pub(super) fn security(settings: &Settings) -> Result<Security, SetupError> {
    let loopback = settings.bind.is_loopback();
    if settings.app.is_none() && !loopback {
        return Err(SetupError::ExposedWithoutAppId(settings.bind));
    }
    // Past the check above, only an app id can expose the webhook API.
    let exposure = settings
        .app
        .as_ref()
        .map(|_| "MicrosoftAppId is set (the host is meant to be reached by a channel)");
    let webhooks = WebhookPolicy::local(&settings.webhooks, exposure)?;
    let (tokens, inbound): (Arc<dyn TokenSource>, Arc<dyn InboundAuth>) = match &settings.app {
        None => {
            tracing::warn!(
                "NO AUTHENTICATION: MicrosoftAppId is not set, so /api/messages accepts any \
                 activity and replies are sent without a token. This is for the Bot Framework \
                 Emulator on this machine only; never expose this host."
            );
            (Arc::new(NoCredentials), Arc::new(Unauthenticated))
        }
        Some(app) => {
            let http = ConnectorClient::http_client();
            let tokens = token::for_app(app, http.clone())?;
            let inbound = BotFrameworkAuth::for_app(Some(app), &settings.inbound, http)?;
            tracing::info!(
                app_id = %app.app_id,
                "activities are authenticated (Bot Connector and Emulator tokens)"
            );
            (tokens, Arc::new(inbound))
        }
    };
    let trust = TrustPolicy::local(&settings.trust);
    tracing::info!(hosts = %trust.describe(), "service URLs trusted without a Bot Connector token");
    Ok(Security {
        tokens,
        inbound,
        trust,
        webhooks: WebhookGate::new(webhooks, settings.limits.max_webhook_bytes),
        unauthenticated: settings.app.is_none(),
    })
}
