//! `GET /api/notifications/{id}`: how far a notification has got.
//!
//! A notification to one conversation has one delivery record, under its
//! own id. A fan-out (subscribers, a tag, a user) has one per recipient,
//! under child ids (`{id}.{hash}`), written as the notifier expands it; the
//! store lists and counts them by parent. The answer: the target and the
//! number of recipients when it was accepted (for notifications the API
//! accepted), counts by delivery status, whether every recipient's delivery
//! has finished, and the delivery records a page at a time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::ids::NotificationId;
use crate::store::{DeliveryCounts, Page};

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
    let failed = |e: crate::store::StoreError| ApiError::internal(&e);
    let store = app.store.as_ref();
    let accepted = store.get_accepted(&id).await.map_err(failed)?;
    let (counts, page) = match store.get_delivery(&id).await.map_err(failed)? {
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
            store.count_child_deliveries(&id).await.map_err(failed)?,
            store
                .child_deliveries(&id, after.as_ref(), paging.limit)
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
    Ok(Json(json!({
        "notificationId": id,
        "target": accepted.as_ref().map(|a| &a.target),
        "acceptedAt": accepted.as_ref().map(|a| a.accepted_at),
        "notBefore": accepted.as_ref().and_then(|a| a.not_before),
        "recipients": recipients,
        "counts": counts,
        "complete": counts.finished() >= recipients,
        "deliveries": page.items,
        "next": page.next,
    })))
}
