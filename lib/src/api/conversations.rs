//! `GET /api/conversations`: the stored conversation references, in key
//! order, a page at a time, for operators (which keys exist, which are
//! active, when each was last seen). Keys are what the other routes take
//! as a conversation target.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use crate::ids::ConversationKey;
use crate::store::StoredReference;

use super::paging::{PageQuery, Paging};
use super::{ApiError, AppState};

pub async fn list(
    State(app): State<AppState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::from_query(query)?;
    let after: Option<ConversationKey> = paging.cursor()?;
    let page = app
        .store
        .list_references(after.as_ref(), paging.limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let conversations: Vec<Value> = page.items.iter().map(summary).collect();
    Ok(Json(json!({
        "conversations": conversations,
        "next": page.next,
    })))
}

fn summary(stored: &StoredReference) -> Value {
    let user = stored.reference.user.as_ref();
    json!({
        "key": stored.key,
        "channelId": stored.key.channel_id(),
        "conversationId": stored.key.conversation_id(),
        "userId": user.map(|u| &u.id),
        "userName": user.and_then(|u| u.name.as_ref()),
        "tenantId": stored.tenant_id(),
        "active": stored.active,
        "inactiveReason": stored.inactive_reason,
        "lastSeen": stored.last_seen,
        "provenance": stored.provenance,
        "team": stored.team_channel.as_ref().map(|p| json!({"id": p.team_id, "name": p.team_name})),
        "channel": stored.team_channel.as_ref().and_then(|p| {
            let id = p.channel_id.as_ref()?;
            Some(json!({"id": id, "name": p.channel_name}))
        }),
    })
}
