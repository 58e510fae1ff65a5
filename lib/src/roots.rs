//! The machine's trusted root certificates, read once per process and
//! shared by every TLS client nudge builds.
//!
//! Why: an HTTP client left to find its own roots reads and parses the
//! whole system store (a bundle of some 150 certificates, and on most
//! Linux systems a directory of them as well) when it is built. The
//! messages function built three such clients (the AWS SDK's, the
//! Connector's, the key fetcher's), so each cold start read the store three
//! times, more than half of its start-up (BENCHMARKS.md, Lambda cold
//! start). It is read once, into the trust store of the one TLS
//! configuration every client shares ([`crate::tls`], which reads it on a
//! thread of its own and keeps it), and the AWS SDK's requests go through
//! that too (`aws/sdk_http.rs`).
//!
//! Which roots: those `rustls-native-certs` finds, as rustls' platform
//! verifier finds them on Linux (`SSL_CERT_FILE` and `SSL_CERT_DIR` when
//! set, else the system's bundle and certificate directory), so a private
//! CA added there is trusted as before. A certificate that cannot serve as
//! a trust anchor is left out with a warning rather than failing every
//! client (rustls refuses a list holding one).

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// Reads the trusted roots: once per process, by [`crate::tls`].
pub(crate) fn load() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a trusted root certificate could not be read");
    }
    let (usable, unusable) = anchors(found.certs);
    if unusable > 0 {
        tracing::warn!(
            unusable,
            "root certificates that cannot be trust anchors were left out"
        );
    }
    if usable.is_empty() {
        tracing::warn!(
            "no trusted root certificates found: every TLS connection will fail \
             (point SSL_CERT_FILE at a bundle)"
        );
    }
    usable
}

/// The certificates that can be trust anchors, and how many could not.
fn anchors(certs: Vec<CertificateDer<'static>>) -> (RootCertStore, usize) {
    let mut store = RootCertStore::empty();
    let (_, unusable) = store.add_parsable_certificates(certs);
    (store, unusable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_that_cannot_be_an_anchor_is_left_out_and_counted() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let (usable, unusable) = anchors(vec![garbage]);
        assert!(usable.is_empty());
        assert_eq!(unusable, 1);
    }

    #[test]
    fn the_machine_has_roots() {
        // The test machines have a system store.
        assert!(!load().is_empty(), "this machine's root certificates");
    }
}
