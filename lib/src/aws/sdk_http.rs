//! The AWS SDK's transport: reqwest, as every other client of a function.
//!
//! The SDK's default HTTPS client (`aws-smithy-http-client`) is a second
//! HTTP and TLS stack beside the reqwest client every function already
//! has for the Bot Connector, and it always links HTTP/2 (`h2`, about
//! half a megabyte of a bootstrap, #13). DynamoDB, SQS and Secrets
//! Manager speak HTTP/1.1, so the SDK's requests go out through reqwest
//! instead, built as every other client of a function is
//! (`crate::fetch::client_builder`: the roots read once, no redirects): one
//! HTTP and TLS stack per function. Its own client, not the Connector's,
//! whose 20 s call timeout would cut an SQS long poll short. No crate
//! offers this connector for the SDK's current client API (`aws-smithy-
//! runtime-api` 1.x), so it is ours; it is small because every SDK
//! request nudge makes has its body in memory.
//!
//! The SDK asks for a connector per client with its timeouts: the read
//! timeout, when set, becomes each request's; the connect timeout is the
//! SDK's default for every client, [`CONNECT_TIMEOUT`] (the SDK's own
//! operation timeouts and retries apply above this).

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

/// How long a connection may take to open: the SDK's default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The HTTP client for the AWS SDK that nudge's functions use: pass it to
/// `aws_config::ConfigLoader::http_client` when building SDK clients of
/// your own beside nudge's, so a build links one HTTP stack. nudge
/// enables none of the SDK's own (`default-https-client`), so an SDK
/// client built without it has none.
pub fn client() -> SharedHttpClient {
    let http = crate::fetch::client_builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        // Only a TLS backend that cannot start fails here, at start-up,
        // and no call could be made without one.
        .expect("the HTTP client's TLS backend starts");
    http_client_fn(move |settings, _components| {
        SharedHttpConnector::new(Connector {
            http: http.clone(),
            timeout: settings.read_timeout(),
        })
    })
}

#[derive(Debug)]
struct Connector {
    http: reqwest::Client,
    timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let sent = self.request(request).map(reqwest::RequestBuilder::send);
        HttpConnectorFuture::new(async move {
            let response = sent?.await.map_err(failed)?;
            let mut answer = axum::http::Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await.map_err(failed)?;
            let answer = answer
                .body(SdkBody::from(body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

impl Connector {
    /// The SDK's request as reqwest's.
    fn request(&self, request: HttpRequest) -> Result<reqwest::RequestBuilder, ConnectorError> {
        let request = request
            .try_into_http1x()
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let (parts, body) = request.into_parts();
        let Some(bytes) = body.bytes() else {
            return Err(ConnectorError::other(
                "a streaming request body (nudge sends none)".into(),
                None,
            ));
        };
        let mut builder = self
            .http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(bytes::Bytes::copy_from_slice(bytes));
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        Ok(builder)
    }
}

/// A reqwest error as the SDK's retry rules understand it: timeouts and
/// failures to connect or to carry the exchange are transient.
fn failed(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 exchange on loopback: what the connector sent, and the
    /// SDK's view of the answer.
    #[tokio::test]
    async fn a_request_goes_out_whole_and_the_answer_comes_back_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("{\"a\":1}") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                seen.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: r1\r\ncontent-length: 7\r\n\r\n{\"b\":2}")
                .await
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let connector = Connector {
            http: crate::fetch::client_builder().build().unwrap(),
            timeout: Some(Duration::from_secs(5)),
        };
        let request = axum::http::Request::builder()
            .method("POST")
            .uri(format!("http://{addr}/x?y=1"))
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .body(SdkBody::from("{\"a\":1}"))
            .unwrap();
        let answer = connector
            .call(HttpRequest::try_from(request).unwrap())
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400);
        assert_eq!(answer.headers().get("x-amzn-requestid"), Some("r1"));
        assert_eq!(answer.body().bytes(), Some(&b"{\"b\":2}"[..]));
        let seen = server.await.unwrap().to_ascii_lowercase();
        assert!(seen.starts_with("post /x?y=1 http/1.1\r\n"), "{seen}");
        assert!(
            seen.contains("x-amz-target: dynamodb_20120810.getitem\r\n"),
            "{seen}"
        );
        assert!(seen.contains("content-length: 7\r\n"), "{seen}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let connector = Connector {
            http: crate::fetch::client_builder().build().unwrap(),
            timeout: None,
        };
        let request = axum::http::Request::builder()
            .uri(format!("http://{addr}/"))
            .body(SdkBody::empty())
            .unwrap();
        let error = connector
            .call(HttpRequest::try_from(request).unwrap())
            .await
            .unwrap_err();
        assert!(error.is_io(), "{error:?}");
    }
}
