//! `POST /api/messages`: where channels deliver activities.
//!
//! In order: read the body (bounded), parse it as an activity, check it at
//! the edge ([`Turn::parse`]), authenticate it, hand it to the bot, and send
//! the bot's replies back through the Connector before answering the channel
//! (200 with no body). Nothing is stored before the activity is checked and
//! authenticated. With `deliveryMode: expectReplies` the replies travel in
//! the response body instead (`{"activities": [...]}`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::activity::Activity;
use crate::turn::Turn;

use super::body::{parse_json, read_limited};
use super::error::ApiError;
use super::AppState;

pub async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(body, app.limits.max_activity_bytes).await?;
    let activity: Activity = parse_json(&bytes)?;
    let turn = Turn::parse(activity)
        .map_err(|e| ApiError::bad_request("InvalidActivity", e.to_string()))?;
    app.authenticate_headers(&headers, &turn).await?;
    let replies = app
        .bot
        .handle(&turn)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let replies: Vec<Activity> = replies
        .into_iter()
        .map(|reply| reply.addressed_as_reply_to(&turn.activity))
        .collect();
    let expects_replies = turn
        .activity
        .delivery_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("expectReplies"));
    if expects_replies {
        return Ok((StatusCode::OK, Json(json!({ "activities": replies }))).into_response());
    }
    send_replies(&app, &turn, &replies).await;
    Ok(StatusCode::OK.into_response())
}

/// Sends replies in order; a failure is logged and ends the sequence (later
/// replies would make no sense without the earlier ones).
async fn send_replies(app: &AppState, turn: &Turn, replies: &[Activity]) {
    let conversation = turn.key.conversation_id();
    for reply in replies {
        let sent = match turn.activity.id.as_deref() {
            Some(activity_id) => {
                app.connector
                    .reply_to_activity(&turn.service_url, conversation, activity_id, reply)
                    .await
            }
            None => {
                app.connector
                    .send_to_conversation(&turn.service_url, conversation, reply)
                    .await
            }
        };
        if let Err(error) = sent {
            tracing::warn!(conversation = %turn.key, %error, "reply not delivered");
            return;
        }
    }
}
