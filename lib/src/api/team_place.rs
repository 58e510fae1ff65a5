//! The `channel` and `thread` targets: a new post in a Teams channel, or a
//! reply in one of its threads.
//!
//! In Teams a channel is a conversation whose id is the channel's
//! (`19:…@thread.tacv2`), and each thread in it one whose id adds the
//! thread's first message (`19:…@thread.tacv2;messageid=…`). Sending to the
//! first starts a new thread; sending to the second replies in that
//! thread. nudge knows a channel from its install in the team (the General
//! channel) and from any message the bot was mentioned in (that thread):
//! a target whose exact conversation it has not seen is reached with the
//! reference of another conversation of the same channel (same service
//! URL, tenant and bot), the conversation id changed, and that reference
//! is stored for it from then on.

use axum::http::StatusCode;

use super::ApiError;
use crate::ids::{check_opaque_id, ConversationKey};
use crate::store::{Store, StoredReference};

/// What separates a channel's id from a thread's message id.
const THREAD: &str = ";messageid=";

/// The Teams channel id of every team-place key.
const TEAMS: &str = "msteams";

/// The conversation of a new post in `channel_id`.
pub fn channel(channel_id: &str) -> Result<ConversationKey, ApiError> {
    check_opaque_id("channelId", channel_id).map_err(|e| invalid(e.to_string()))?;
    if channel_id.contains(THREAD) {
        return Err(invalid(
            "channelId names a channel (19:…@thread.tacv2); to reply in a thread use \
             {\"kind\": \"thread\"}",
        ));
    }
    key(channel_id)
}

/// The conversation of a reply in a thread: its conversation id
/// (`19:…;messageid=…`), or the channel and the thread's first message id.
pub fn thread(
    conversation_id: Option<String>,
    channel_id: Option<String>,
    message_id: Option<String>,
) -> Result<ConversationKey, ApiError> {
    let id = match (conversation_id, channel_id, message_id) {
        (Some(id), None, None) => id,
        (None, Some(channel_id), Some(message)) => {
            channel(&channel_id)?;
            if message.is_empty() || message.contains(';') {
                return Err(invalid("messageId is the id of the thread's first message"));
            }
            format!("{channel_id}{THREAD}{message}")
        }
        _ => {
            return Err(invalid(
                "a thread is named by `conversationId` (19:…;messageid=…), or by `channelId` \
                 and `messageId`",
            ))
        }
    };
    check_opaque_id("conversationId", &id).map_err(|e| invalid(e.to_string()))?;
    match id.split_once(THREAD) {
        Some((channel, message)) if !channel.is_empty() && !message.is_empty() => key(&id),
        _ => Err(invalid(
            "a thread's conversationId is its channel's id, `;messageid=` and the id of its \
             first message",
        )),
    }
}

/// The stored reference for the team place `key`: its own, else one made
/// from another conversation of the same channel and stored. 404
/// `ChannelNotFound` when nudge knows no conversation in that channel.
pub async fn reference(
    store: &dyn Store,
    key: &ConversationKey,
) -> Result<StoredReference, ApiError> {
    let failed = |e: crate::store::StoreError| ApiError::internal(&e);
    if let Some(own) = store.get_reference(key).await.map_err(failed)? {
        return Ok(own);
    }
    let conversation = key.conversation_id();
    let channel = conversation
        .split_once(THREAD)
        .map_or(conversation, |(channel, _)| channel);
    let channel_key = self::key(channel)?;
    let sibling = match store.get_reference(&channel_key).await.map_err(failed)? {
        Some(found) => Some(found),
        // The channel's threads sort right after the channel itself.
        None => store
            .list_references(Some(&channel_key), 1)
            .await
            .map_err(failed)?
            .items
            .into_iter()
            .next()
            .filter(|r| {
                r.key
                    .conversation_id()
                    .starts_with(&format!("{channel}{THREAD}"))
            }),
    };
    let Some(sibling) = sibling else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ChannelNotFound",
            format!(
                "nudge knows no conversation in channel {channel}: install the app in the team, \
                 or mention the bot in the channel, first"
            ),
        ));
    };
    let mut derived = sibling;
    derived.key = key.clone();
    if let Some(account) = derived.reference.conversation.as_mut() {
        account.id = conversation.to_owned();
    }
    derived.reference.activity_id = None;
    store.save_reference(&derived).await.map_err(failed)?;
    Ok(derived)
}

fn key(conversation_id: &str) -> Result<ConversationKey, ApiError> {
    ConversationKey::new(TEAMS, conversation_id).map_err(|e| invalid(e.to_string()))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidTarget", message)
}
