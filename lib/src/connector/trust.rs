//! Which service URLs the Connector client will call at all.
//!
//! A service URL is where the bot sends messages *and its token*. Whether a
//! URL is trusted depends first on where it came from (an authenticated
//! activity, stored with its reference); this policy is the last gate before
//! the wire: tokens and messages go over HTTPS, and over plain HTTP only to
//! this machine (the Emulator) and only when the host allows it.

use crate::service_url::ServiceUrl;

use super::ConnectorError;

#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    /// Allow `http://` to loopback addresses (the local host and the
    /// Emulator). Never on a cloud host.
    pub allow_http_loopback: bool,
}

impl TrustPolicy {
    pub fn check(&self, url: &ServiceUrl) -> Result<(), ConnectorError> {
        if url.is_https() || (self.allow_http_loopback && url.is_loopback()) {
            Ok(())
        } else {
            Err(ConnectorError::Untrusted(url.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        let local: ServiceUrl = "http://localhost:5000".parse().unwrap();
        let remote: ServiceUrl = "http://example.com".parse().unwrap();
        let secure: ServiceUrl = "https://smba.trafficmanager.net/amer/".parse().unwrap();
        let strict = TrustPolicy::default();
        let local_mode = TrustPolicy {
            allow_http_loopback: true,
        };
        assert!(strict.check(&secure).is_ok());
        assert!(strict.check(&local).is_err());
        assert!(local_mode.check(&local).is_ok());
        assert!(local_mode.check(&remote).is_err());
    }
}
