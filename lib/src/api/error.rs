//! Error answers, one shape everywhere: `{"error": {"code", "message"}}`,
//! the same shape the Bot Connector uses, so clients parse one thing.
//!
//! Codes are stable and meant for programs; messages are short and meant
//! for people. A 5xx never carries internal detail: that goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::AuthFailure;

/// An error answer of the HTTP API: a status, a stable code and a message
/// (the body is `{"error": {"code", "message"}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code clients match on (`BadRequest`, `NotFound`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 with this code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 404 for a route that does not exist.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "no such route")
    }

    /// A 405 for a route that exists, with another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "this route does not take that method",
        )
    }

    /// A failure on our side: logged in full, answered without detail.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::telemetry::untrusted(&error), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl From<AuthFailure> for ApiError {
    /// The answer to a refused request: the status and nothing that helps
    /// an attacker (the reason is the caller's to log).
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Unauthorized(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "missing or invalid credentials",
            ),
            AuthFailure::Forbidden(_) => Self::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "these credentials may not do this",
            ),
            AuthFailure::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "credentials cannot be checked right now; retry later",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
