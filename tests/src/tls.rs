//! HTTPS in front of a plain test server, for hosts that call only HTTPS
//! (the cloud functions send to a service URL only over TLS).
//!
//! [`TlsFront`] terminates TLS with the test certificate for `localhost`
//! under `tests/fixtures/tls` and passes the bytes on to the plain server.
//! A process trusts it when its `SSL_CERT_FILE` is [`ca_file`], the test CA
//! that signed the certificate (rustls' platform verifier reads it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

/// The test CA's certificate: what a client must trust.
pub fn ca_file() -> PathBuf {
    fixture("ca.pem")
}

pub struct TlsFront {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Serves `https://localhost:{port}` for the plain server at `target`.
    pub async fn start(target: SocketAddr) -> TlsFront {
        let certs = CertificateDer::pem_file_iter(fixture("localhost.pem"))
            .expect("read the test certificate")
            .collect::<Result<Vec<_>, _>>()
            .expect("parse the test certificate");
        let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).expect("the test key");
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a TLS configuration");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        TlsFront {
            url: format!("https://localhost:{port}"),
            task,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
