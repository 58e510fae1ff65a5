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
//! back.
//!
//! Why the roots are read on a thread of their own: reading and parsing
//! the machine's store (a bundle of some 150 certificates and, on Debian, a
//! directory holding each again) took five of a Lambda cold start's 13 ms
//! (BENCHMARKS.md), and nothing needs it until the first server presents
//! its certificate. So building a client no longer reads it: the first
//! configuration starts the read on a thread of its own, and
//! [`LazyRoots`] checks a server's certificate with them once they are read
//! (waiting for the read if a handshake gets there first). A cold start's
//! DNS lookup, connect and first TLS flight overlap the read instead of
//! queueing behind it. What is trusted does not change.

use std::sync::{Arc, LazyLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

static CONFIG: LazyLock<ClientConfig> = LazyLock::new(build);

/// The shared configuration, for one more client (a clone shares its
/// verifier and session cache).
pub(crate) fn client_config() -> ClientConfig {
    CONFIG.clone()
}

fn build() -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(LazyRoots::new(provider.clone(), crate::roots::load));
    roots.read_in_background();
    config(provider, roots)
}

fn config(provider: Arc<CryptoProvider>, roots: Arc<LazyRoots>) -> ClientConfig {
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring's provider has cipher suites for both TLS 1.2 and 1.3.
        .expect("ring's provider supports the default TLS versions")
        .dangerous()
        // Not a weaker check: WebPKI verification with the machine's roots,
        // exactly what `with_root_certificates` would install, built when
        // the roots have been read.
        .with_custom_certificate_verifier(roots)
        .with_no_client_auth()
}

/// rustls' WebPKI verifier over the machine's roots, built once they are
/// read. The handshake signatures need only the provider's algorithms.
#[derive(Debug)]
struct LazyRoots {
    /// The provider's, for the handshake's signatures.
    algorithms: WebPkiSupportedAlgorithms,
    verifier: LazyLock<Result<Arc<WebPkiServerVerifier>, String>, Box<VerifierFn>>,
}

type VerifierFn = dyn FnOnce() -> Result<Arc<WebPkiServerVerifier>, String> + Send;

impl LazyRoots {
    /// Roots from `load`, called once, when first needed.
    fn new(provider: Arc<CryptoProvider>, load: fn() -> RootCertStore) -> LazyRoots {
        let algorithms = provider.signature_verification_algorithms;
        let build: Box<VerifierFn> = Box::new(move || {
            WebPkiServerVerifier::builder_with_provider(Arc::new(load()), provider)
                .build()
                .map_err(|e| {
                    format!("no trusted root certificates ({e}): point SSL_CERT_FILE at a bundle")
                })
        });
        LazyRoots {
            algorithms,
            verifier: LazyLock::new(build),
        }
    }

    /// Starts reading the roots on a thread of its own; a handshake that
    /// needs them first waits for that read rather than starting another.
    fn read_in_background(self: &Arc<Self>) {
        let roots = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name("nudge-roots".into())
            .spawn(move || {
                LazyLock::force(&roots.verifier);
            });
        if let Err(error) = started {
            // The first handshake reads them instead.
            tracing::debug!(%error, "the roots are read at the first handshake");
        }
    }

    fn verifier(&self) -> Result<&WebPkiServerVerifier, rustls::Error> {
        match &*self.verifier {
            Ok(verifier) => Ok(verifier),
            Err(problem) => Err(rustls::Error::General(problem.clone())),
        }
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ClientConnection, ServerConfig, ServerConnection};

    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tls/");

    fn certs(name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(format!("{FIXTURES}{name}"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn test_ca() -> RootCertStore {
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(certs("ca.pem"));
        store
    }

    /// A client on `load`'s roots shakes hands in memory with a server
    /// holding the tests' `localhost` certificate (signed by their CA).
    fn handshake(load: fn() -> RootCertStore) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(LazyRoots::new(provider.clone(), load));
        let client_config = Arc::new(config(provider.clone(), roots));
        let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}localhost.key")).unwrap();
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs("localhost.pem"), key)
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = ClientConnection::new(client_config, name).unwrap();
        let mut server = ServerConnection::new(Arc::new(server_config)).unwrap();
        while client.is_handshaking() || server.is_handshaking() {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut wire.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut wire = Vec::new();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut wire.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        Ok(())
    }

    #[test]
    fn a_server_whose_certificate_chains_to_a_root_is_trusted() {
        assert_eq!(handshake(test_ca), Ok(()));
    }

    #[test]
    fn a_server_whose_issuer_is_not_a_root_is_refused() {
        let refused = handshake(|| {
            // The server's own certificate is not a CA: nothing it issued.
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs("localhost.pem"));
            store
        });
        assert!(
            matches!(refused, Err(rustls::Error::InvalidCertificate(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn no_roots_refuses_every_server_and_says_why() {
        match handshake(RootCertStore::empty) {
            Err(rustls::Error::General(why)) => assert!(why.contains("SSL_CERT_FILE"), "{why}"),
            other => panic!("expected a refusal naming SSL_CERT_FILE, got {other:?}"),
        }
    }

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
