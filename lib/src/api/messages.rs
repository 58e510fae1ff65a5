//! `POST /api/messages`: where channels deliver activities.
//!
//! In order: read the body (bounded), parse it as an activity, check it at
//! the edge ([`Turn::parse`]), authenticate it, hand it to the bot, and send
//! the bot's replies back through the Connector before answering the channel
//! (200 with no body). Nothing is stored before the activity is checked and
//! authenticated. With `deliveryMode: expectReplies` the replies travel in
//! the response body instead (`{"activities": [...]}`). Replies take their
//! rate-limit slots like every send, and go to the queue rather than being
//! lost ([`super::replies`]).
//!
//! Parsing comes before authentication because the token is checked against
//! the activity (its `serviceUrl` and `channelId`); parsing touches nothing
//! but the bytes, so an unauthenticated caller learns only whether its JSON
//! is well formed.

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
use super::replies::Reply;
use super::AppState;

pub async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let began = jiff::Timestamp::now();
    let bytes = read_limited(body, app.limits.max_activity_bytes).await?;
    let turn = parse_activity(&bytes)?;
    let provenance = app.authenticate_headers(&headers, &turn).await?;
    let turn = turn.with_provenance(provenance);
    let replies = app
        .bot
        .handle(&turn)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let replies: Vec<Reply> = replies
        .into_iter()
        .map(|reply| Reply::new(reply, &turn.activity))
        .collect();
    let expects_replies = turn
        .activity
        .delivery_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("expectReplies"));
    if expects_replies {
        let activities: Vec<&Activity> = replies.iter().map(|r| &r.activity).collect();
        return Ok((StatusCode::OK, Json(json!({ "activities": activities }))).into_response());
    }
    super::replies::send(&app, &turn, &replies, began).await;
    super::team_install::learn_channels(&app, &turn).await;
    Ok(StatusCode::OK.into_response())
}

/// An activity body, parsed and checked at the edge: a 400 with a short
/// reason for anything that is not a usable activity.
pub fn parse_activity(bytes: &[u8]) -> Result<Turn, ApiError> {
    let activity: Activity = parse_json(bytes)?;
    Turn::parse(activity).map_err(|e| ApiError::bad_request("InvalidActivity", e.to_string()))
}
