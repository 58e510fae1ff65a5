//! Which service URLs the Connector client will call at all.
//!
//! A service URL is where the bot sends messages *and its token*: a bot that
//! calls whatever URL it is given is a machine for leaking its credentials
//! and for server-side request forgery. So every call passes this gate, the
//! last one before the wire:
//!
//! - **Scheme.** HTTPS, or plain HTTP only to this machine and only on the
//!   local host (the Emulator listens on `http://localhost`). A token never
//!   travels in clear text anywhere else.
//! - **Host.** Trusted if the URL is [`Provenance::Verified`] (a Bot
//!   Connector token signed it for the activity it came with, and it was
//!   stored with that provenance) or if its host is on the allow-list:
//!   [`hosts::DEFAULT_TRUSTED_HOSTS`] unless `NUDGE_TRUSTED_SERVICE_HOSTS`
//!   says otherwise, plus `loopback` on the local host.
//!
//! Notifications nudge makes never carry a service URL of their own: the
//! notifier addresses every proactive message from the stored reference, so
//! a URL reaches this gate through an activity, and an unverified one still
//! has to be on the list. The one exception is a proactive template message
//! dropped on the queue ([`crate::notification::Notification::from_queue_body`]),
//! whose reference is always unverified and so always held to the list.

mod hosts;

use crate::env::{ConfigError, Env};
use crate::service_url::{Provenance, ServiceUrl};

use super::ConnectorError;
pub use hosts::{HostPattern, DEFAULT_TRUSTED_HOSTS};

/// The configured allow-list (`NUDGE_TRUSTED_SERVICE_HOSTS`); `None` means
/// the host's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSettings {
    /// The hosts, as configured.
    pub hosts: Option<Vec<HostPattern>>,
}

impl TrustSettings {
    /// The variable holding the list.
    pub const VARIABLE: &'static str = "NUDGE_TRUSTED_SERVICE_HOSTS";

    /// Reads the list (comma-separated patterns).
    pub fn from_env(env: &dyn Env) -> Result<TrustSettings, ConfigError> {
        let Some(raw) = env.get(Self::VARIABLE) else {
            return Ok(TrustSettings::default());
        };
        let hosts = hosts::parse_list(&raw).map_err(|e| ConfigError {
            variable: Self::VARIABLE,
            problem: e.to_string(),
        })?;
        Ok(TrustSettings { hosts: Some(hosts) })
    }
}

/// Which service URLs the bot may call with its token: HTTPS ones (plain
/// HTTP only to loopback, on the local host) that a Bot Connector token
/// vouched for or whose host is allow-listed (a token sent to an
/// attacker's URL would be theirs to use).
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    hosts: Vec<HostPattern>,
    allow_http_loopback: bool,
}

impl Default for TrustPolicy {
    /// A cloud host's policy with the default allow-list.
    fn default() -> Self {
        TrustPolicy::cloud(&TrustSettings::default())
    }
}

impl TrustPolicy {
    /// For a cloud host: HTTPS only; the configured list or the defaults.
    pub fn cloud(settings: &TrustSettings) -> Self {
        TrustPolicy {
            hosts: settings.hosts.clone().unwrap_or_else(hosts::defaults),
            allow_http_loopback: false,
        }
    }

    /// For the local host: plain HTTP to this machine is allowed, and the
    /// default list includes it.
    pub fn local(settings: &TrustSettings) -> Self {
        let hosts = settings.hosts.clone().unwrap_or_else(|| {
            let mut hosts = hosts::defaults();
            hosts.push(HostPattern::Loopback);
            hosts
        });
        TrustPolicy {
            hosts,
            allow_http_loopback: true,
        }
    }

    /// Whether a send to `url` may carry the bot's token.
    pub fn check(&self, url: &ServiceUrl, provenance: Provenance) -> Result<(), ConnectorError> {
        let secure = url.is_https() || (self.allow_http_loopback && url.is_loopback());
        if !secure {
            return Err(ConnectorError::Untrusted(format!(
                "{url} (plain HTTP is only for this machine, on the local host)"
            )));
        }
        if provenance == Provenance::Verified || self.hosts.iter().any(|h| h.matches(url)) {
            Ok(())
        } else {
            Err(ConnectorError::Untrusted(url.to_string()))
        }
    }

    /// The allow-list, for the start-up log.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self.hosts.iter().map(ToString::to_string).collect();
        hosts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Provenance::{Unverified, Verified};

    fn url(s: &str) -> ServiceUrl {
        s.parse().unwrap()
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_locally() {
        let cloud = TrustPolicy::default();
        let local = TrustPolicy::local(&TrustSettings::default());
        assert!(cloud
            .check(&url("http://localhost:5000"), Verified)
            .is_err());
        assert!(local
            .check(&url("http://localhost:5000"), Unverified)
            .is_ok());
        assert!(local.check(&url("http://example.com"), Verified).is_err());
        assert!(cloud
            .check(&url("http://smba.trafficmanager.net/amer/"), Verified)
            .is_err());
    }

    #[test]
    fn unverified_urls_must_be_on_the_list() {
        let cloud = TrustPolicy::default();
        let teams = url("https://smba.trafficmanager.net/amer/");
        let other = url("https://attacker.example/");
        assert!(cloud.check(&teams, Unverified).is_ok());
        assert!(cloud.check(&other, Unverified).is_err());
        assert!(
            cloud.check(&other, Verified).is_ok(),
            "signed by the Connector"
        );
        assert!(cloud
            .check(&url("https://localhost:3978/"), Unverified)
            .is_err());
    }

    #[test]
    fn a_configured_list_replaces_the_default() {
        let settings =
            TrustSettings::from_env(&[(TrustSettings::VARIABLE, "127.0.0.1:4000")]).unwrap();
        let local = TrustPolicy::local(&settings);
        assert!(local
            .check(&url("http://127.0.0.1:4000"), Unverified)
            .is_ok());
        assert!(local
            .check(&url("http://127.0.0.1:4001"), Unverified)
            .is_err());
        assert!(local
            .check(&url("https://smba.trafficmanager.net/amer/"), Unverified)
            .is_err());
        let err = TrustSettings::from_env(&[(TrustSettings::VARIABLE, "https://x/")]).unwrap_err();
        assert_eq!(err.variable, TrustSettings::VARIABLE);
    }
}
