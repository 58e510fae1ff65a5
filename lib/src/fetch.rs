//! Reading what the identity endpoints answer (token endpoints, OpenID
//! metadata, key sets): bounded, because a misbehaving or hostile endpoint
//! must not make the bot buffer gigabytes, and described with their causes
//! when they fail, because "error sending request" alone helps nobody.

use bytes::{Bytes, BytesMut};

/// The start of every HTTP client nudge builds: no redirects followed.
///
/// Every client of nudge carries something that must reach only the host
/// it was meant for: an activity and the bot's token (Connector calls), the
/// client secret (token endpoints), the answer it trusts (OpenID metadata,
/// key sets, managed identity). reqwest follows up to ten redirects by
/// default, so a 307 from an allowed host would carry the request, body
/// and all, to any other host, past the trust policy. A redirect is
/// answered as what it is: a 3xx status, which every caller treats as a
/// failure.
///
/// It speaks TLS with the configuration built once per process
/// ([`crate::tls`]): ring, and the roots read once rather than per client.
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(crate::tls::client_config())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("nudge/", env!("CARGO_PKG_VERSION")))
}

/// Reads a response body, refusing it past `limit` bytes.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the answer is larger than {limit} bytes"));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A reqwest error with its causes, which is where the useful part is
/// ("connection refused", "operation timed out").
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// At most `max` characters of `text`, for logs and error messages.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Whether an identity endpoint may be fetched: HTTPS, or plain HTTP to this
/// machine (tests, and local stand-ins for the real endpoints).
pub(crate) fn is_secure_endpoint(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => crate::service_url::is_loopback_host(url.host()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_endpoints_are_https_or_this_machine() {
        assert!(is_secure_endpoint(
            "https://login.botframework.com/v1/.well-known/keys"
        ));
        assert!(is_secure_endpoint("http://127.0.0.1:4000/keys"));
        assert!(is_secure_endpoint("http://localhost/keys"));
        assert!(!is_secure_endpoint("http://login.botframework.com/keys"));
        assert!(!is_secure_endpoint("file:///etc/passwd"));
        assert!(!is_secure_endpoint("not a url"));
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
