//! `POST /api/reminders`: set a reminder for a conversation or a user.
//!
//! `when` takes exactly the forms `remind me` takes in chat (`in 10
//! minutes`, `tomorrow at 9:00`, `every weekday at 8:30`, ...), read by the
//! same parser ([`crate::schedule::phrase::parse_parts`]) and resolved by
//! the same rules (no past times, nothing more than a year away, at most
//! once a minute), through the same [`crate::bot::Bot::schedule_reminder`]:
//! a reminder set here is listed, cancelled and fired like one set in chat.
//! Times of day are in `timeZone` (an IANA name), else the host's default.
//! A user's reminder lives in the conversation where that user was last
//! seen.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::bot::replies::repetition;
use crate::bot::ReminderRefusal;
use crate::calendar::Zone;
use crate::schedule::phrase::{parse_parts, PhraseError};

use super::body::{parse_json, read_limited};
use super::target::{Audience, TargetRequest};
use super::{ApiError, AppState};

/// The forms `when` takes, for the error that says it was not understood.
const WHEN_FORMS: &str = "`in 10 minutes` (seconds, minutes, hours, days, weeks), `at 17:30`, \
`tomorrow at 9:00`, `on 2026-12-24 at 18:00`, `every day at 9:00`, `every weekday at 8:30`, \
`every monday at 10:00`, `every 15 minutes`";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateRequest {
    target: TargetRequest,
    when: String,
    text: String,
    time_zone: Option<String>,
}

pub async fn create(
    State(app): State<AppState>,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let request: CreateRequest = parse_json(&bytes)?;
    let audience = Audience::try_from(request.target)?;
    let reminder = parse_parts(&request.when, &request.text).map_err(phrase_error)?;
    let zone = match request.time_zone {
        Some(name) => Zone::parse(&name)
            .map_err(|e| ApiError::bad_request("InvalidTimeZone", e.to_string()))?,
        None => app.bot.default_zone().clone(),
    };
    let owner = audience.one_conversation(app.store.as_ref()).await?;
    let reminder = app
        .bot
        .schedule_reminder(owner, reminder, zone.clone(), None)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|refusal| match refusal {
            ReminderRefusal::Spec(refusal) => {
                ApiError::bad_request("ReminderRefused", format!("the reminder {refusal}"))
            }
            ReminderRefusal::Full(full) => ApiError::new(
                StatusCode::CONFLICT,
                "ReminderLimitReached",
                format!("{full}; cancel one first"),
            ),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "reminderId": reminder.id,
            "conversation": reminder.owner,
            "text": reminder.text,
            "nextDue": reminder.next_due,
            "timeZone": reminder.time_zone,
            "recurrence": reminder.recurrence,
            "repeats": repetition(&reminder, &zone),
        })),
    ))
}

fn phrase_error(error: PhraseError) -> ApiError {
    match error {
        PhraseError::MissingText | PhraseError::TextTooLong => {
            ApiError::bad_request("InvalidText", error.to_string())
        }
        _ => ApiError::bad_request(
            "InvalidWhen",
            format!("{error}; `when` is one of {WHEN_FORMS}"),
        ),
    }
}
