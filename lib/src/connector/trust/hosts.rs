//! Host patterns for the service-URL allow-list, and the default list.
//!
//! A pattern is an exact host (`smba.trafficmanager.net`), optionally with a
//! port (`127.0.0.1:3979`); `*.` and a domain for every subdomain of a
//! domain that Microsoft owns whole (`*.botframework.com`); or `loopback`
//! for this machine (`localhost`, `127.0.0.0/8`, `::1`). There is no wildcard
//! for shared domains: anyone can create `x.trafficmanager.net` (an Azure
//! Traffic Manager profile) or `x.azurewebsites.net`, so Teams' hosts there
//! are listed one by one.

use std::fmt;

use url::Url;

use crate::service_url::ServiceUrl;

/// The Bot Framework and Teams hosts trusted by default: the Bot Framework
/// channels (Web Chat, Direct Line and its regional hosts, Slack, ...), Azure
/// Government's, and the Teams Connector hosts of each cloud that the Teams
/// SDK lists (public, GCC, GCC High, DoD, China).
pub const DEFAULT_TRUSTED_HOSTS: &[&str] = &[
    "*.botframework.com",
    "*.botframework.azure.us",
    "smba.trafficmanager.net",
    "smba.onyx.prod.teams.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
    "smba.infra.dod.teams.microsoft.us",
    "frontend.botapi.msg.infra.teams.microsoftonline.cn",
];

/// The keyword for [`DEFAULT_TRUSTED_HOSTS`] in a configured list.
pub const DEFAULTS_KEYWORD: &str = "default";
/// The keyword for this machine in a configured list.
pub const LOOPBACK_KEYWORD: &str = "loopback";

/// One entry of the allow-list: `host`, `host:port`, `*.domain` or
/// `loopback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// This host, on any port or on the given one.
    Exact {
        /// The host name or address (lowercase).
        host: String,
        /// The port, if only one.
        port: Option<u16>,
    },
    /// Any subdomain of this domain (not the domain itself).
    Subdomains {
        /// The domain (lowercase, without `*.`).
        domain: String,
    },
    /// `localhost` and the loopback addresses, any port.
    Loopback,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a host, `*.domain`, `host:port`, `default` or `loopback`")]
pub struct BadPattern(pub String);

impl HostPattern {
    /// Reads one entry of the list.
    pub fn parse(raw: &str) -> Result<HostPattern, BadPattern> {
        let raw = raw.trim();
        let bad = || BadPattern(raw.to_owned());
        if raw.eq_ignore_ascii_case(LOOPBACK_KEYWORD) {
            return Ok(HostPattern::Loopback);
        }
        if let Some(domain) = raw.strip_prefix("*.") {
            let parsed = parse_authority(domain).ok_or_else(bad)?;
            if parsed.1.is_some() || !parsed.0.contains('.') {
                return Err(bad());
            }
            return Ok(HostPattern::Subdomains { domain: parsed.0 });
        }
        let (host, port) = parse_authority(raw).ok_or_else(bad)?;
        Ok(HostPattern::Exact { host, port })
    }

    /// Whether `url`'s host (and port) is one this pattern allows.
    pub fn matches(&self, url: &ServiceUrl) -> bool {
        let host = url.host();
        match self {
            HostPattern::Loopback => url.is_loopback(),
            HostPattern::Exact { host: h, port } => {
                h.eq_ignore_ascii_case(host) && port.is_none_or(|p| url.port() == Some(p))
            }
            HostPattern::Subdomains { domain } => host
                .len()
                .checked_sub(domain.len() + 1)
                .and_then(|at| host.get(at..))
                .is_some_and(|tail| {
                    tail.starts_with('.') && tail[1..].eq_ignore_ascii_case(domain)
                }),
        }
    }
}

/// `host` or `host:port`, as a URL parser reads it (so IPv6 needs brackets
/// and the host comes out lowercased); `None` for anything more than that.
fn parse_authority(raw: &str) -> Option<(String, Option<u16>)> {
    if raw.is_empty()
        || raw.contains(['/', '@', '?', '#', '*'])
        || raw.contains(char::is_whitespace)
    {
        return None;
    }
    let url = Url::parse(&format!("https://{raw}/")).ok()?;
    // The parser hides a port equal to the scheme's default; ask for it only
    // when one was written.
    let explicit_port = match raw.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => raw.contains(':'),
    };
    let port = if explicit_port {
        Some(url.port_or_known_default()?)
    } else {
        None
    };
    Some((url.host_str()?.to_owned(), port))
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact {
                host,
                port: Some(port),
            } => write!(f, "{host}:{port}"),
            HostPattern::Exact { host, port: None } => f.write_str(host),
            HostPattern::Subdomains { domain } => write!(f, "*.{domain}"),
            HostPattern::Loopback => f.write_str(LOOPBACK_KEYWORD),
        }
    }
}

/// The patterns of [`DEFAULT_TRUSTED_HOSTS`].
pub fn defaults() -> Vec<HostPattern> {
    DEFAULT_TRUSTED_HOSTS
        .iter()
        .filter_map(|raw| HostPattern::parse(raw).ok())
        .collect()
}

/// A comma-separated list of patterns, where `default` stands for
/// [`DEFAULT_TRUSTED_HOSTS`].
pub fn parse_list(raw: &str) -> Result<Vec<HostPattern>, BadPattern> {
    let mut patterns = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item.eq_ignore_ascii_case(DEFAULTS_KEYWORD) {
            patterns.extend(defaults());
        } else {
            patterns.push(HostPattern::parse(item)?);
        }
    }
    Ok(patterns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> ServiceUrl {
        s.parse().unwrap()
    }

    #[test]
    fn every_default_parses() {
        assert_eq!(defaults().len(), DEFAULT_TRUSTED_HOSTS.len());
        for (pattern, raw) in defaults().iter().zip(DEFAULT_TRUSTED_HOSTS) {
            assert_eq!(pattern.to_string(), *raw);
        }
    }

    #[test]
    fn subdomain_wildcards_match_subdomains_only() {
        let bf = HostPattern::parse("*.botframework.com").unwrap();
        assert!(bf.matches(&url("https://webchat.botframework.com/")));
        assert!(bf.matches(&url("https://europe.directline.botframework.com/v3/")));
        assert!(bf.matches(&url("https://WebChat.BotFramework.com/")));
        assert!(!bf.matches(&url("https://botframework.com/")));
        assert!(!bf.matches(&url("https://evilbotframework.com/")));
        assert!(!bf.matches(&url("https://botframework.com.evil.net/")));
    }

    #[test]
    fn exact_hosts_with_and_without_a_port() {
        let teams = HostPattern::parse("smba.trafficmanager.net").unwrap();
        assert!(teams.matches(&url("https://smba.trafficmanager.net/amer/")));
        assert!(!teams.matches(&url("https://evil.trafficmanager.net/amer/")));
        let pinned = HostPattern::parse("127.0.0.1:4000").unwrap();
        assert!(pinned.matches(&url("http://127.0.0.1:4000")));
        assert!(!pinned.matches(&url("http://127.0.0.1:4001")));
        let v6 = HostPattern::parse("[::1]:4000").unwrap();
        assert!(v6.matches(&url("http://[::1]:4000/")));
        let https = HostPattern::parse("api.example.com:443").unwrap();
        assert!(https.matches(&url("https://api.example.com/")));
        assert!(!https.matches(&url("https://api.example.com:8443/")));
    }

    #[test]
    fn loopback_is_this_machine_on_any_port() {
        let lo = HostPattern::parse("loopback").unwrap();
        for u in [
            "http://localhost:1",
            "http://127.0.0.2:80",
            "http://[::1]:9/",
        ] {
            assert!(lo.matches(&url(u)), "{u}");
        }
        assert!(!lo.matches(&url("http://10.0.0.1/")));
    }

    #[test]
    fn lists_expand_default_and_refuse_junk() {
        let list = parse_list("default, api.example.com ,loopback").unwrap();
        assert_eq!(list.len(), DEFAULT_TRUSTED_HOSTS.len() + 2);
        for bad in [
            "*.com",
            "*",
            "https://x.com",
            "x.com/path",
            "a b",
            "*.x.com:443",
            "user@x.com",
        ] {
            assert!(parse_list(bad).is_err(), "{bad} was accepted");
        }
    }
}
