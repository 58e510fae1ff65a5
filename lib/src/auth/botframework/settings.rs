//! Where the inbound token checks get their keys and which issuers they
//! accept, named as the Bot Framework SDKs name them so a deployment's
//! existing settings carry over; sovereign clouds and tests point them
//! elsewhere.

use std::time::Duration;

use crate::env::{ConfigError, Env};
use crate::fetch::is_secure_endpoint;

/// The Bot Connector's OpenID metadata (channel tokens).
pub const CHANNEL_METADATA_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// Entra ID's metadata for the `botframework.com` tenant (Emulator tokens).
pub const EMULATOR_METADATA_URL: &str =
    "https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration";
/// The issuer of channel tokens.
pub const CHANNEL_ISSUER: &str = "https://api.botframework.com";

/// Where inbound token checks get their keys, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSettings {
    /// `ToBotFromChannelOpenIdMetadataUrl` (or the older `BotOpenIdMetadata`).
    pub channel_metadata_url: String,
    /// `ToBotFromEmulatorOpenIdMetadataUrl`.
    pub emulator_metadata_url: String,
    /// `ToBotFromChannelTokenIssuer`.
    pub channel_issuer: String,
    /// How long a fetched key set is used before it is fetched again.
    pub key_refresh: Duration,
    /// The least time between two fetches caused by a token whose key id is
    /// not in the set: without it, anyone could make the bot hammer the
    /// metadata endpoint with made-up key ids.
    pub unknown_key_cooldown: Duration,
}

impl Default for InboundSettings {
    fn default() -> Self {
        InboundSettings {
            channel_metadata_url: CHANNEL_METADATA_URL.to_owned(),
            emulator_metadata_url: EMULATOR_METADATA_URL.to_owned(),
            channel_issuer: CHANNEL_ISSUER.to_owned(),
            key_refresh: Duration::from_secs(24 * 3600),
            unknown_key_cooldown: Duration::from_secs(300),
        }
    }
}

impl InboundSettings {
    /// The variable naming the channel's OpenID metadata.
    pub const CHANNEL_METADATA: &'static str = "ToBotFromChannelOpenIdMetadataUrl";
    /// Its older name, read when the new one is unset.
    pub const CHANNEL_METADATA_LEGACY: &'static str = "BotOpenIdMetadata";
    /// The variable naming the Emulator's OpenID metadata.
    pub const EMULATOR_METADATA: &'static str = "ToBotFromEmulatorOpenIdMetadataUrl";
    /// The variable naming the channel tokens' issuer.
    pub const CHANNEL_ISSUER: &'static str = "ToBotFromChannelTokenIssuer";

    /// Reads them; the public cloud's values unless set.
    pub fn from_env(env: &dyn Env) -> Result<InboundSettings, ConfigError> {
        let defaults = InboundSettings::default();
        let channel_metadata_url = match env.get(Self::CHANNEL_METADATA) {
            Some(url) => endpoint(Self::CHANNEL_METADATA, url)?,
            None => match env.get(Self::CHANNEL_METADATA_LEGACY) {
                Some(url) => endpoint(Self::CHANNEL_METADATA_LEGACY, url)?,
                None => defaults.channel_metadata_url,
            },
        };
        let emulator_metadata_url = match env.get(Self::EMULATOR_METADATA) {
            Some(url) => endpoint(Self::EMULATOR_METADATA, url)?,
            None => defaults.emulator_metadata_url,
        };
        Ok(InboundSettings {
            channel_metadata_url,
            emulator_metadata_url,
            channel_issuer: env
                .get(Self::CHANNEL_ISSUER)
                .map_or(defaults.channel_issuer, |i| i.trim().to_owned()),
            ..defaults
        })
    }
}

fn endpoint(variable: &'static str, url: String) -> Result<String, ConfigError> {
    let url = url.trim().to_owned();
    if is_secure_endpoint(&url) {
        Ok(url)
    } else {
        Err(ConfigError {
            variable,
            problem: format!("`{url}` is not an https URL (http only to this machine)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_public_cloud() {
        let s = InboundSettings::from_env(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(s, InboundSettings::default());
    }

    #[test]
    fn the_sdk_names_override_and_plain_http_is_refused() {
        let s = InboundSettings::from_env(&[
            (
                "BotOpenIdMetadata",
                "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
            ),
            (
                "ToBotFromEmulatorOpenIdMetadataUrl",
                "http://127.0.0.1:9/emulator",
            ),
            ("ToBotFromChannelTokenIssuer", "https://api.botframework.us"),
        ])
        .unwrap();
        assert!(s.channel_metadata_url.contains("azure.us"));
        assert_eq!(s.emulator_metadata_url, "http://127.0.0.1:9/emulator");
        assert_eq!(s.channel_issuer, "https://api.botframework.us");
        let preferred = InboundSettings::from_env(&[
            ("BotOpenIdMetadata", "https://a.example/"),
            ("ToBotFromChannelOpenIdMetadataUrl", "https://b.example/"),
        ])
        .unwrap();
        assert_eq!(preferred.channel_metadata_url, "https://b.example/");
        let err = InboundSettings::from_env(&[("BotOpenIdMetadata", "http://evil.example/")])
            .unwrap_err();
        assert_eq!(err.variable, "BotOpenIdMetadata");
    }
}
