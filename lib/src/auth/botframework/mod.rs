//! Bot Framework JWT validation: is this activity really from the Bot
//! Connector (or from the Emulator, holding this bot's credentials)?
//!
//! Every activity on `/api/messages` carries `Authorization: Bearer <JWT>`.
//! [`BotFrameworkAuth`] checks it before the bot stores or answers anything,
//! following the Bot Connector authentication specification and refusing
//! what the SDKs let slip:
//!
//! 1. a bearer token of sane size (`auth::bearer`);
//! 2. an RS256 header with a key id (`claims::header`);
//! 3. an issuer that names one of the two families (`family`), whose keys
//!    come from its own OpenID metadata (`keys`, `jwks`);
//! 4. a signature by a key in that set, `iss`, `aud` = the app id, `exp` and
//!    `nbf` with 5 minutes of skew (`claims::verify`);
//! 5. the family's own rules: for channel tokens the `serviceurl` claim
//!    equals the activity's `serviceUrl` and the key is endorsed for its
//!    `channelId`; for Emulator tokens `appid`/`azp` is the app id.
//!
//! Where the keys live is configuration (`settings`), named as in the
//! SDKs, so sovereign clouds and tests can point elsewhere.

mod claims;
mod family;
mod jwks;
mod keys;
mod rs256;
mod settings;

use async_trait::async_trait;

pub use settings::InboundSettings;

use super::bearer::bearer_token;
use super::{require_app_id, AuthFailure, InboundAuth, SetupError};
use crate::connector::AppIdentity;
use crate::fetch::truncate;
use crate::service_url::Provenance;
use crate::turn::Turn;
use family::Family;
use keys::KeyCache;

/// Checks Bot Framework tokens: the channel's and the Emulator's, by their
/// OpenID metadata, issuer, audience (the app id) and lifetime.
pub struct BotFrameworkAuth {
    app_id: String,
    families: [Family; 2],
}

impl BotFrameworkAuth {
    /// The validator for the configured app id: what every host with an
    /// app id uses. Fails without one ([`SetupError::NoAppId`]): a cloud
    /// function that gets this error must not start.
    pub fn for_app(
        app: Option<&AppIdentity>,
        inbound: &InboundSettings,
        http: reqwest::Client,
    ) -> Result<BotFrameworkAuth, SetupError> {
        let app = require_app_id(app)?;
        Ok(BotFrameworkAuth::new(
            &app.app_id,
            app.tenant_id.as_deref(),
            inbound,
            &http,
        ))
    }

    /// The validator for `app_id` (single-tenant apps also accept their
    /// tenant's Entra tokens, for the Emulator).
    pub fn new(
        app_id: &str,
        tenant_id: Option<&str>,
        settings: &InboundSettings,
        http: &reqwest::Client,
    ) -> BotFrameworkAuth {
        let cache = |url: &str| {
            KeyCache::new(
                http.clone(),
                url.to_owned(),
                settings.key_refresh,
                settings.unknown_key_cooldown,
            )
        };
        BotFrameworkAuth {
            app_id: app_id.to_owned(),
            families: [
                Family::channel(
                    &settings.channel_issuer,
                    cache(&settings.channel_metadata_url),
                ),
                Family::emulator(tenant_id, cache(&settings.emulator_metadata_url)),
            ],
        }
    }
}

#[async_trait]
impl InboundAuth for BotFrameworkAuth {
    async fn authenticate(
        &self,
        authorization: Option<&str>,
        turn: &Turn,
    ) -> Result<Provenance, AuthFailure> {
        let token = bearer_token(authorization)?;
        let header = claims::header(token)?;
        let issuer = claims::unverified_issuer(token)?;
        let family = self
            .families
            .iter()
            .find(|f| f.accepts_issuer(&issuer))
            .ok_or_else(|| {
                // Unverified input: quoted and cut, so it cannot forge log lines.
                let issuer = truncate(&issuer, 100);
                AuthFailure::Unauthorized(format!("issuer {issuer:?} is not accepted"))
            })?;
        let key = family.keys.key(&header.kid).await?;
        let claims = claims::verify(token, &key.decoding, &family.issuers, &self.app_id)?;
        let provenance = family.check(&claims, &key, turn, &self.app_id)?;
        tracing::debug!(family = ?family.kind, ?provenance, "activity authenticated");
        Ok(provenance)
    }
}
