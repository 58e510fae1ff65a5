//! `GET|POST /api/notify`: send an activity to a target.
//!
//! The request is checked, its audience counted, and one notification
//! enqueued, whatever the audience's size: a broadcast or a user target is
//! expanded later by the notifier, page by page, so this request does a
//! constant amount of work (and a count) for ten recipients or a hundred
//! thousand. The answer is 202 with the notification's id (for
//! `GET /api/notifications/{id}`) and how many recipients it targets.
//!
//! The original form still works: no `target` broadcasts to every
//! subscriber, and no text at all (a `GET`, or an empty body) sends the
//! default broadcast text. The body never names a service URL: unknown
//! fields are refused, so a webhook cannot choose where a message goes.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::bot::replies::DEFAULT_BROADCAST;
use crate::ids::NotificationId;
use crate::notification::{enqueue, Notification, Operation, Reason};
use crate::store::AcceptedNotification;

use super::body::{parse_json, read_limited};
use super::content;
use super::mentions::{self, MentionRequest};
use super::target::{Audience, TargetRequest};
use super::{ApiError, AppState};

/// How far ahead `notBefore` may be: a notification waits on the queue,
/// and later sends belong to `POST /api/reminders`.
pub const MAX_NOT_BEFORE: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NotifyRequest {
    target: Option<TargetRequest>,
    text: Option<String>,
    card: Option<Value>,
    #[serde(default)]
    mentions: Vec<MentionRequest>,
    #[serde(alias = "not_before")]
    not_before: Option<Timestamp>,
}

pub async fn notify(
    State(app): State<AppState>,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let request: NotifyRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        NotifyRequest::default()
    } else {
        parse_json(&bytes)?
    };
    let legacy = request.target.is_none();
    let audience = match request.target {
        Some(target) => Audience::try_from(target)?,
        None => Audience::Subscribers { tag: None },
    };
    let text = match (request.text, &request.card) {
        (None, None) if legacy => Some(DEFAULT_BROADCAST.to_owned()),
        (text, _) => text,
    };
    let mut activity = content::activity(text, request.card)?
        .ok_or_else(|| ApiError::bad_request("NoContent", "send `text`, `card`, or both"))?;
    mentions::apply(&mut activity, request.mentions)?;
    let now = Timestamp::now();
    if let Some(at) = request.not_before {
        if at.duration_since(now) > MAX_NOT_BEFORE {
            return Err(ApiError::bad_request(
                "NotBeforeTooFar",
                "notBefore is at most 24 hours ahead; schedule later messages with /api/reminders",
            ));
        }
    }
    let (target, recipients) = audience.resolve(app.store.as_ref(), &app.teams).await?;
    let notification = Notification {
        id: NotificationId::generate(),
        target,
        activity,
        reason: Reason::Webhook,
        not_before: request.not_before,
        operation: Operation::Send,
    };
    let answer = accept(&app, &notification, recipients, now).await?;
    tracing::info!(notification = %notification.id, ?audience, recipients, "notification accepted");
    Ok(answer)
}

/// Accepts `notification` for its `recipients`: remembered for `GET
/// /api/notifications/{id}`, enqueued unless there is nobody to reach;
/// the 202 answer with its id.
pub(super) async fn accept(
    app: &AppState,
    notification: &Notification,
    recipients: u64,
    now: Timestamp,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let accepted = AcceptedNotification {
        id: notification.id.clone(),
        target: notification.target.clone(),
        recipients,
        accepted_at: now,
        not_before: notification.not_before,
    };
    app.store
        .save_accepted(&accepted)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if recipients > 0 {
        enqueue(app.queue.as_ref(), std::slice::from_ref(notification))
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"notificationId": notification.id, "recipients": recipients})),
    ))
}
