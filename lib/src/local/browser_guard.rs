//! Keeps web pages from driving an unauthenticated local host.
//!
//! Without `MicrosoftAppId` the local host takes activities (and, without a
//! webhook credential, webhook calls) from anyone who can reach its port,
//! and the host only listens on loopback. But a web page in the developer's
//! browser is on this machine too: it can POST a `text/plain` body to
//! `/api/notify` or `/api/messages` without a CORS preflight, point an
//! `<img>` at `GET /api/notify`, or rebind its own DNS name to 127.0.0.1
//! and read `/api/conversations` as if it were same-origin. So, while the
//! host runs without an app id, every request must:
//!
//! - name this machine in `Host` (`localhost`, `*.localhost`, `127.x.x.x`,
//!   `[::1]`): a rebound name does not (403 `HostNotAllowed`);
//! - not be one the browser marks as coming from another site:
//!   `Sec-Fetch-Site: cross-site` or `same-site` (another port of
//!   localhost is the same site), or an `Origin` that is not this machine
//!   (403 `CrossSiteRequest`);
//! - carry a body only as `application/json` (415 `UnsupportedMediaType`):
//!   a browser cannot send JSON to another origin without asking first.
//!
//! What people do by hand still works: `curl` sends no `Origin` and no
//! `Sec-Fetch-*`, and typing `http://localhost:3978/api/notify` into the
//! address bar is a top-level navigation (`Sec-Fetch-Site: none`). The
//! Emulator and the Agents Playground call the bot from their own
//! processes, like `curl`.

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::api::ApiError;
use crate::service_url::is_loopback_host;

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// The middleware: refuses what a browser could be made to send.
pub(super) async fn guard(request: Request, next: Next) -> Result<Response, ApiError> {
    check(&request)?;
    Ok(next.run(request).await)
}

fn check(request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| text(headers, HOST.as_str()).map(str::to_owned));
    if let Some(authority) = authority {
        if !names_this_machine(&format!("http://{authority}")) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "HostNotAllowed",
                "this host answers only to localhost while it runs without MicrosoftAppId",
            ));
        }
    }
    let cross_site = matches!(
        text(headers, SEC_FETCH_SITE)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("cross-site" | "same-site")
    );
    let foreign_origin = headers
        .get(ORIGIN)
        .is_some_and(|origin| !origin.to_str().is_ok_and(names_this_machine));
    if cross_site || foreign_origin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CrossSiteRequest",
            "requests from web pages are refused while this host runs without MicrosoftAppId",
        ));
    }
    if has_body(headers) && !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "send the body as application/json",
        ));
    }
    Ok(())
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `url` (an origin, or `http://` and a `Host` value) names this
/// machine: loopback addresses, `localhost` and its subdomains.
fn names_this_machine(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let host = url.host();
    is_loopback_host(host.clone())
        || matches!(host, Some(url::Host::Domain(d))
            if d.to_ascii_lowercase().trim_end_matches('.').ends_with(".localhost"))
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers.contains_key(CONTENT_TYPE)
        || text(headers, CONTENT_LENGTH.as_str()).is_some_and(|n| n.trim() != "0")
}

/// `Content-Type: application/json`, any parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    text(headers, CONTENT_TYPE.as_str()).is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri("/api/notify");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    fn code(method: &str, headers: &[(&str, &str)]) -> Option<&'static str> {
        check(&request(method, headers)).err().map(|e| e.code)
    }

    const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");

    #[test]
    fn people_and_local_tools_pass() {
        let host = ("host", "localhost:3978");
        assert_eq!(code("GET", &[host]), None, "curl");
        assert_eq!(code("POST", &[host]), None, "curl -X POST, no body");
        assert_eq!(code("POST", &[host, JSON, ("content-length", "2")]), None);
        assert_eq!(
            code(
                "GET",
                &[
                    host,
                    ("sec-fetch-site", "none"),
                    ("sec-fetch-mode", "navigate")
                ]
            ),
            None,
            "typed into the address bar"
        );
        for host in [
            "127.0.0.1:3978",
            "[::1]:3978",
            "app.localhost:3978",
            "LOCALHOST",
        ] {
            assert_eq!(code("GET", &[("host", host)]), None, "{host}");
        }
        assert_eq!(
            code(
                "POST",
                &[
                    host,
                    JSON,
                    ("origin", "http://127.0.0.1:3978"),
                    ("sec-fetch-site", "same-origin")
                ]
            ),
            None
        );
    }

    #[test]
    fn what_a_web_page_can_send_is_refused() {
        let host = ("host", "localhost:3978");
        assert_eq!(
            code(
                "POST",
                &[
                    host,
                    ("content-type", "text/plain"),
                    ("content-length", "20")
                ]
            ),
            Some("UnsupportedMediaType")
        );
        assert_eq!(
            code("POST", &[host, ("content-length", "20")]),
            Some("UnsupportedMediaType"),
            "a body without a type"
        );
        assert_eq!(
            code(
                "POST",
                &[host, ("content-type", "application/x-www-form-urlencoded")]
            ),
            Some("UnsupportedMediaType")
        );
        assert_eq!(
            code(
                "GET",
                &[
                    host,
                    ("sec-fetch-site", "cross-site"),
                    ("sec-fetch-dest", "image")
                ]
            ),
            Some("CrossSiteRequest"),
            "<img src=…/api/notify>"
        );
        assert_eq!(
            code("POST", &[host, JSON, ("sec-fetch-site", "same-site")]),
            Some("CrossSiteRequest"),
            "a page on another port of localhost"
        );
        for origin in [
            "https://evil.example",
            "null",
            "http://localhost.evil.example",
        ] {
            assert_eq!(
                code("POST", &[host, JSON, ("origin", origin)]),
                Some("CrossSiteRequest"),
                "{origin}"
            );
        }
        for rebound in [
            "evil.example:3978",
            "127.0.0.1.nip.io:3978",
            "localhost.evil.example",
        ] {
            assert_eq!(
                code("GET", &[("host", rebound)]),
                Some("HostNotAllowed"),
                "{rebound}"
            );
        }
    }
}
