//! `GET /api/notifications/{id}`: how far a notification has got.
//!
//! A notification to one conversation has one delivery record, under its
//! own id. A fan-out (subscribers, a tag, a user) has one per recipient,
//! under child ids (`{id}.{hash}`), written as the notifier expands it; the
//! store lists and counts them by parent. The answer: the target and the
//! number of recipients when it was accepted (for notifications the API
//! accepted), counts by delivery status, whether every recipient's delivery
//! has finished, and the delivery records a page at a time.
//!
//! `PATCH` (new `text` and/or `card`) and `DELETE` (a recall) change every
//! message a finished notification sent: they accept one notification,
//! followed here like any other, whose target is the first one's delivered
//! messages ([`crate::notification::Target::Delivered`]); the notifier expands it page by page
//! into one update or delete per conversation, under the same rate limits,
//! retries and delivery records as a send.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::activity::Activity;
use crate::ids::NotificationId;
use crate::notification::{Edit, Notification};
use crate::store::{AcceptedNotification, DeliveryCounts, DeliveryRecord, Page, Store};

use super::body::{parse_json, read_limited};
use super::content;
use super::mentions::{self, MentionRequest};
use super::paging::{PageQuery, Paging};
use super::{ApiError, AppState};

fn not_found(raw: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotificationNotFound",
        format!("no notification {raw} is known"),
    )
}

pub async fn status(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::from_query(query)?;
    let after: Option<NotificationId> = paging.cursor()?;
    let id: NotificationId = raw.parse().map_err(|_| not_found(&raw))?;
    let progress = progress(app.store.as_ref(), &id, after.as_ref(), paging.limit).await?;
    let accepted = progress.accepted.as_ref();
    Ok(Json(json!({
        "notificationId": id,
        "target": accepted.map(|a| &a.target),
        "acceptedAt": accepted.map(|a| a.accepted_at),
        "notBefore": accepted.and_then(|a| a.not_before),
        "recipients": progress.recipients,
        "counts": progress.counts,
        "complete": progress.complete(),
        "deliveries": progress.page.items,
        "next": progress.page.next,
    })))
}

/// How far a notification has got: what `GET` answers.
struct Progress {
    accepted: Option<AcceptedNotification>,
    counts: DeliveryCounts,
    recipients: u64,
    page: Page<DeliveryRecord, NotificationId>,
}

impl Progress {
    /// Every recipient's delivery has finished.
    fn complete(&self) -> bool {
        self.counts.finished() >= self.recipients
    }
}

/// The notification's own delivery record (one conversation), or its
/// children's (a fan-out): counted, and a page of them after `after`. 404
/// for a notification nobody accepted and nothing delivered.
async fn progress(
    store: &dyn Store,
    id: &NotificationId,
    after: Option<&NotificationId>,
    limit: usize,
) -> Result<Progress, ApiError> {
    let failed = |e: crate::store::StoreError| ApiError::internal(&e);
    let accepted = store.get_accepted(id).await.map_err(failed)?;
    let (counts, page) = match store.get_delivery(id).await.map_err(failed)? {
        Some(own) => {
            let mut counts = DeliveryCounts::default();
            counts.add(own.status, 1);
            let items = if after.is_none() {
                vec![own]
            } else {
                Vec::new()
            };
            (counts, Page { items, next: None })
        }
        None => (
            store.count_child_deliveries(id).await.map_err(failed)?,
            store
                .child_deliveries(id, after, limit)
                .await
                .map_err(failed)?,
        ),
    };
    if accepted.is_none() && counts.total() == 0 {
        return Err(not_found(id.as_str()));
    }
    let recipients = accepted
        .as_ref()
        .map_or(counts.total(), |a| a.recipients.max(counts.total()));
    Ok(Progress {
        accepted,
        counts,
        recipients,
        page,
    })
}

/// The body of `PATCH /api/notifications/{id}`: the new content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditRequest {
    text: Option<String>,
    card: Option<Value>,
    #[serde(default)]
    mentions: Vec<MentionRequest>,
}

/// `PATCH /api/notifications/{id}`: every message the notification sent
/// is replaced by the new `text` and/or `card`.
pub async fn edit(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = read_limited(body, app.limits.max_webhook_bytes).await?;
    let request: EditRequest = parse_json(&bytes)?;
    let mut activity = content::activity(request.text, request.card)?
        .ok_or_else(|| ApiError::bad_request("NoContent", "send `text`, `card`, or both"))?;
    mentions::apply(&mut activity, request.mentions)?;
    change(&app, &raw, Edit::Update, activity).await
}

/// `DELETE /api/notifications/{id}`: every message the notification sent
/// is deleted (a recall).
pub async fn recall(
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    change(&app, &raw, Edit::Delete, Activity::default()).await
}

/// Accepts an edit or a recall of a finished notification: one
/// notification that the notifier expands over its delivery records, each
/// message changed under the same rate limits as a send. Refused (409
/// `NotificationInProgress`) while deliveries are still under way: a
/// message not yet sent has no id to change.
async fn change(
    app: &AppState,
    raw: &str,
    edit: Edit,
    activity: Activity,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id: NotificationId = raw.parse().map_err(|_| not_found(raw))?;
    let store = app.store.as_ref();
    let progress = progress(store, &id, None, 1).await?;
    if !progress.complete() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "NotificationInProgress",
            format!(
                "{id} is still being delivered ({} of {} finished): edit or recall it once \
                 GET /api/notifications/{id} says it is complete",
                progress.counts.finished(),
                progress.recipients
            ),
        ));
    }
    let recipients = progress.counts.sent;
    let change = Notification::change_of(id.clone(), edit, activity);
    let answer = super::notify::accept(app, &change, recipients, jiff::Timestamp::now()).await?;
    tracing::info!(notification = %id, change = %change.id, ?edit, recipients, "change accepted");
    Ok(answer)
}
