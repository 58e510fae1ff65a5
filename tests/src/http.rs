//! HTTP clients for the tests' own calls.
//!
//! The workspace's reqwest has no crypto provider of its own (nudge hands
//! its clients a rustls configuration on ring, `lib/src/tls.rs`, so the
//! Lambda bootstraps link no second crypto library), and a reqwest client
//! built without a provider installed panics. A test process is an
//! application, so it installs ring as rustls' process default here,
//! before its first client.

/// Makes ring rustls' process default (once; a later call does nothing).
pub fn install_crypto() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

/// A default reqwest client.
pub fn client() -> reqwest::Client {
    builder().build().expect("a reqwest client")
}

/// A reqwest client builder, the crypto provider installed.
pub fn builder() -> reqwest::ClientBuilder {
    install_crypto();
    reqwest::Client::builder()
}
