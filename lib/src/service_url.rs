//! `ServiceUrl`: the channel endpoint a conversation is reached through.
//!
//! It is kept exactly as the channel sent it (Teams changes it per region and
//! a normalized copy can fail), parsed once so that building Connector paths
//! can never produce a request to somewhere else.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::ids::IdError;

/// Where a service URL came from, which decides whether it may be called
/// when its host is not on the trusted list.
///
/// Only a Bot Connector channel token vouches for a service URL: it carries
/// a signed `serviceUrl` claim that must equal the activity's. Everything
/// else (no inbound authentication, an Emulator token, which is the bot's
/// own credential and names no service URL, or a record written before
/// provenance was kept) is `Unverified`, and such a URL is called only if
/// its host is on the allow-list ([`crate::connector::TrustPolicy`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Provenance {
    /// Named by the signed `serviceUrl` claim of a Bot Connector token.
    Verified,
    /// Not vouched for by anyone.
    #[default]
    Unverified,
}

/// A conversation's service URL, parsed and checked: where the bot sends
/// to that conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceUrl {
    raw: String,
    url: Url,
}

impl ServiceUrl {
    /// The host name (or address) the URL points at.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.url.port_or_known_default()
    }

    /// Whether it is `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether the URL points at this machine (the Emulator, tests).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.url.host())
    }

    /// `{serviceUrl}/{path}` with exactly one slash between them; `path` is
    /// made of already-encoded segments.
    pub fn join(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.raw.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// The URL as the channel sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// Whether a URL's host is this machine: `localhost` or a loopback address.
pub(crate) fn is_loopback_host(host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl FromStr for ServiceUrl {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::ids::check_opaque_id("serviceUrl", s)?;
        let url = Url::parse(s).map_err(|e| IdError::Malformed {
            what: "serviceUrl",
            why: e.to_string(),
        })?;
        let malformed = |why: &str| IdError::Malformed {
            what: "serviceUrl",
            why: why.into(),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(malformed("must be http or https"));
        }
        // The raw text is what is kept and compared (`as_str`), so it must
        // already be in the form the parser would give: `https:/host` or
        // `HTTPS://host` parse, but name the host only after rewriting.
        if !(s.starts_with("https://") || s.starts_with("http://")) {
            return Err(malformed("must start with https:// or http://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(malformed("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(malformed("must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(malformed("must not carry a query or fragment"));
        }
        Ok(ServiceUrl {
            raw: s.to_owned(),
            url,
        })
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for ServiceUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ServiceUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_url_as_sent_and_joins_paths() {
        let url: ServiceUrl = "https://smba.trafficmanager.net/emea/".parse().unwrap();
        assert_eq!(url.as_str(), "https://smba.trafficmanager.net/emea/");
        assert_eq!(
            url.join("v3/conversations"),
            "https://smba.trafficmanager.net/emea/v3/conversations"
        );
        assert_eq!(url.host(), "smba.trafficmanager.net");
        assert!(url.is_https() && !url.is_loopback());
    }

    #[test]
    fn refuses_what_is_not_a_plain_http_endpoint() {
        for bad in [
            "",
            "not a url",
            "ftp://example.com",
            "https://user:pw@example.com/",
            "https://example.com/?q=1",
            "file:///etc/passwd",
            // Parse, but only after rewriting the host into place.
            "https:/aWm/smba.trafficmanager.net/amer/",
            "HTTPS://smba.trafficmanager.net/amer/",
        ] {
            assert!(bad.parse::<ServiceUrl>().is_err(), "{bad} was accepted");
        }
        assert!("http://127.0.0.1:9000"
            .parse::<ServiceUrl>()
            .unwrap()
            .is_loopback());
        assert!("http://localhost:9000"
            .parse::<ServiceUrl>()
            .unwrap()
            .is_loopback());
    }
}
