//! `GET|POST /api/notify` on the local host: broadcast a proactive message
//! to every subscribed conversation.
//!
//! It is the local stand-in for the signed webhook API: no authentication,
//! so only the local host mounts it. The request enqueues one broadcast
//! notification and answers at once with how many conversations it targets;
//! the notifier expands it page by page.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::activity::Activity;
use crate::bot::replies::DEFAULT_BROADCAST;
use crate::ids::NotificationId;
use crate::notification::{enqueue, Notification, Reason, Target};

use super::body::{parse_json, read_limited};
use super::{ApiError, AppState};

/// Longest broadcast text accepted (Teams refuses messages near 28 KB).
pub const MAX_TEXT_CHARS: usize = 4000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BroadcastRequest {
    text: Option<String>,
}

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/notify", get(broadcast).post(broadcast))
        .with_state(state)
}

async fn broadcast(State(app): State<AppState>, body: Body) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        DEFAULT_BROADCAST.to_owned()
    } else {
        parse_json::<BroadcastRequest>(&bytes)?
            .text
            .unwrap_or_else(|| DEFAULT_BROADCAST.to_owned())
    };
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(
            "InvalidText",
            format!("text must be 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    let recipients = app
        .store
        .count_subscribers(None)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let notification = Notification {
        id: NotificationId::generate(),
        target: Target::Subscribers {
            tag: None,
            after: None,
        },
        activity: Activity::message(text),
        reason: Reason::Broadcast,
        not_before: None,
    };
    if recipients > 0 {
        enqueue(app.queue.as_ref(), std::slice::from_ref(&notification))
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    tracing::info!(notification = %notification.id, recipients, "broadcast accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"notificationId": notification.id, "recipients": recipients})),
    ))
}
