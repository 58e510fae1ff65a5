//! Reading request bodies: bounded, and parsed into typed values with a 4xx
//! that says what was wrong, never a panic or a framework's plain-text
//! rejection.

use axum::body::{to_bytes, Body, Bytes};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Reads the whole body, refusing it with 413 past `limit` bytes, and with
/// 408 when it did not arrive in time (the local host's body deadline) or
/// broke off.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|error| {
        if is_length_limit(&error) {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                format!("the body is larger than {limit} bytes"),
            )
        } else {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                "the body did not arrive in time",
            )
        }
    })
}

/// Whether reading stopped at the size limit (anything else: the body
/// timed out or the connection broke).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Parses JSON into `T`; the error names the line and column and the
/// problem (serde's message, which never echoes the input back whole).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "EmptyBody",
            "the body is empty; send JSON",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "MalformedJson"
        } else {
            "InvalidBody"
        };
        ApiError::bad_request(code, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_syntax_and_shape_errors_apart() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            n: u32,
        }
        assert_eq!(parse_json::<T>(b"{").unwrap_err().code, "MalformedJson");
        assert_eq!(
            parse_json::<T>(b"{\"n\": \"x\"}").unwrap_err().code,
            "InvalidBody"
        );
        assert_eq!(parse_json::<T>(b"  ").unwrap_err().code, "EmptyBody");
        assert_eq!(parse_json::<T>(b"{\"n\": 1}").unwrap().n, 1);
    }
}
