//! `POST /api/jobs/{id}/complete`: an external system says a job finished.
//!
//! It is the `jobComplete` event by another door: the same
//! [`Bot::request_completion`](crate::bot::Bot::request_completion) moves
//! the job and enqueues the one completion notification its owner gets
//! (with the optional `result` text after the notice). 202 when accepted,
//! 404 for an unknown job, 409 for a job already complete or completing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::bot::CompletionRefusal;
use crate::ids::JobId;
use crate::notification::Notification;

use super::body::{parse_json, read_limited};
use super::content::checked_text;
use super::{ApiError, AppState};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    result: Option<String>,
}

fn not_found(raw: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "JobNotFound",
        format!("there is no job {raw}"),
    )
}

pub async fn complete(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let request: CompleteRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        CompleteRequest::default()
    } else {
        parse_json(&bytes)?
    };
    let result = request.result.map(checked_text).transpose()?;
    let id: JobId = raw.parse().map_err(|_| not_found(&raw))?;
    let outcome = app
        .bot
        .request_completion(&id, result.as_deref())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    match outcome {
        Ok(job) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "jobId": job.id,
                "status": job.status,
                "owner": job.owner,
                "notificationId": Notification::job_completion_id(&job.id),
            })),
        )),
        Err(CompletionRefusal::NotFound) => Err(not_found(id.as_str())),
        Err(CompletionRefusal::State(job)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "JobAlreadyComplete",
            format!("job {} is {} already", job.id, job.status),
        )),
    }
}
