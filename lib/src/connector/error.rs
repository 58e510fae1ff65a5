//! What can go wrong talking to the Bot Connector, typed.
//!
//! The Connector's error body is `{"error": {"code", "message"}}`; Teams
//! also answers `{"errorCode": 209, "message": "{\"subCode\": ...}"}` when a
//! user blocked the bot. Both are read into one [`ConnectorError::Status`]
//! that keeps the HTTP status, the most specific code, the message and any
//! `Retry-After`, which is everything the notifier's retry policy needs.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use super::token::TokenError;

/// Why a call to the Bot Connector failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The channel answered with a non-success status.
    #[error("channel answered {status}{}{}", .code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error code in the body (`ConversationBlockedByUser`, …).
        code: Option<String>,
        /// The error message in the body.
        message: Option<String>,
        /// `Retry-After`, when the channel sent one.
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or dropped, timeout, TLS failure.
    #[error("channel unreachable: {0}")]
    Network(String),
    /// No token could be had for the call.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The service URL may not receive this call (see the trust policy).
    #[error("refused to call {0}: not a trusted service URL")]
    Untrusted(String),
    /// An id that cannot be a path segment (`.`, `..`).
    #[error("refused to call the channel: {0:?} is not a usable id")]
    InvalidId(String),
}

impl ConnectorError {
    /// The HTTP status, when the channel answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectorError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code the channel gave (`ConversationBlockedByUser`,
    /// `MessageWritesBlocked`, ...), when it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ConnectorError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Builds the error for a non-success answer from its status, its
    /// `Retry-After` header value and its body.
    pub fn from_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> Self {
        let (code, message) = parse_error_body(body);
        ConnectorError::Status {
            status,
            code,
            message,
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error: Option<ErrorDetail>,
    error_code: Option<Value>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    message: Option<String>,
}

/// Longest error message kept from a channel's body: enough to diagnose,
/// not enough to fill the logs and the delivery records.
const MAX_MESSAGE: usize = 512;

/// Reads `(code, message)` out of either error shape; `(None, None)` when
/// the body is neither (an HTML error page from a proxy, say).
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return (None, (!text.is_empty()).then(|| truncate(text)));
    };
    if let Some(detail) = parsed.error {
        return (detail.code, detail.message.as_deref().map(truncate));
    }
    let sub_code = parsed
        .message
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .and_then(|v| v.get("subCode")?.as_str().map(str::to_owned));
    let code = sub_code.or_else(|| match parsed.error_code? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    });
    (code, parsed.message.as_deref().map(truncate))
}

fn truncate(text: &str) -> String {
    crate::fetch::truncate(text, MAX_MESSAGE)
}

/// `Retry-After` as a wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
/// A date in the past means "now". Unreadable values are ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_connector_error_shape() {
        let body =
            br#"{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}"#;
        let err = ConnectorError::from_response(404, None, body);
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("ConversationNotFound"));
        assert!(err.to_string().contains("Conversation not found."));
    }

    #[test]
    fn reads_the_teams_blocked_shape_by_its_sub_code() {
        let body = br#"{"errorCode":209,"message":"{\"subCode\":\"MessageWritesBlocked\",\"details\":\"Thread is blocked from message writes.\"}"}"#;
        let err = ConnectorError::from_response(403, None, body);
        assert_eq!(err.code(), Some("MessageWritesBlocked"));
        let plain = br#"{"errorCode":209,"message":"blocked"}"#;
        assert_eq!(
            ConnectorError::from_response(403, None, plain).code(),
            Some("209")
        );
    }

    #[test]
    fn keeps_a_short_message_from_a_body_that_is_not_json() {
        let body = "<html>".to_owned() + &"x".repeat(2000);
        let (code, message) = parse_error_body(body.as_bytes());
        assert_eq!(code, None);
        assert!(message.unwrap().chars().count() <= MAX_MESSAGE + 1);
        assert_eq!(parse_error_body(b""), (None, None));
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
