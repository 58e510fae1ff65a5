//! The TLS configuration every HTTPS client of nudge shares: rustls on
//! ring, trusting the machine's roots ([`crate::roots`]), built once per
//! process.
//!
//! Why it is built here rather than by reqwest: reqwest's own rustls set-up
//! chooses aws-lc-rs, a second crypto library beside the ring nudge uses
//! for JWT signatures, HMAC and SHA-256, and about a megabyte of each
//! Lambda bootstrap (#13). Handed a finished configuration
//! (`tls_backend_preconfigured`), reqwest needs no crypto provider of its
//! own, and nudge installs no process-wide default behind a library user's
//! back. Built once, the roots become a trust store once per process, not
//! once per client.

use std::sync::{Arc, LazyLock};

use rustls::ClientConfig;

static CONFIG: LazyLock<ClientConfig> = LazyLock::new(build);

/// The shared configuration, for one more client (a clone shares its
/// trust store and session cache).
pub(crate) fn client_config() -> ClientConfig {
    CONFIG.clone()
}

fn build() -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring's provider has cipher suites for both TLS 1.2 and 1.3.
        .expect("ring's provider supports the default TLS versions")
        .with_root_certificates(crate::roots::native().clone())
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_speaks_tls_1_3_and_1_2_over_ring() {
        let config = client_config();
        let suites = &config.crypto_provider().cipher_suites;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            assert!(suites.iter().any(|s| s.version() == version), "{version:?}");
        }
        // No ALPN: the Connector pool is HTTP/1.1 (reqwest has no http2).
        assert!(config.alpn_protocols.is_empty());
    }
}
