//! Who a webhook call is about, as the caller names it, checked at the edge
//! and then resolved against the store.
//!
//! `{"kind": "conversation", "key": "msteams#19:…"}` (or `channelId` and
//! `conversationId` instead of the key nudge returns), `{"kind": "user",
//! "channelId", "userId"}` (every active conversation whose stored
//! reference names that user), `{"kind": "subscribers"}` and
//! `{"kind": "subscribers", "tag": "deploys"}`. Nothing here ever names a
//! service URL: messages go where the stored references say.

use axum::http::StatusCode;
use serde::Deserialize;

use super::{team_place, ApiError};
use crate::bot::command::parse_tag_name;
use crate::ids::{check_opaque_id, ConversationKey};
use crate::notification::Target;
use crate::store::{Store, StoredReference};

/// Conversations of one user read per query while counting or choosing.
const USER_PAGE: usize = 100;

/// A target as the request names it.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum TargetRequest {
    #[serde(rename_all = "camelCase")]
    Conversation {
        key: Option<String>,
        channel_id: Option<String>,
        conversation_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    User {
        channel_id: String,
        user_id: String,
    },
    Subscribers {
        tag: Option<String>,
    },
    /// A new post in a Teams channel.
    #[serde(rename_all = "camelCase")]
    Channel {
        channel_id: String,
    },
    /// A reply in a Teams channel's thread.
    #[serde(rename_all = "camelCase")]
    Thread {
        conversation_id: Option<String>,
        channel_id: Option<String>,
        message_id: Option<String>,
    },
}

/// A target, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Conversation(ConversationKey),
    /// A Teams channel or thread (`team_place`).
    TeamPlace(ConversationKey),
    User {
        channel_id: String,
        user_id: String,
    },
    Subscribers {
        tag: Option<String>,
    },
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidTarget", message)
}

impl TryFrom<TargetRequest> for Audience {
    type Error = ApiError;

    fn try_from(request: TargetRequest) -> Result<Self, ApiError> {
        match request {
            TargetRequest::Conversation {
                key: Some(key),
                channel_id: None,
                conversation_id: None,
            } => key
                .parse()
                .map(Audience::Conversation)
                .map_err(|e| invalid(format!("key: {e}"))),
            TargetRequest::Conversation {
                key: None,
                channel_id: Some(channel),
                conversation_id: Some(conversation),
            } => ConversationKey::new(&channel, &conversation)
                .map(Audience::Conversation)
                .map_err(|e| invalid(e.to_string())),
            TargetRequest::Conversation { .. } => Err(invalid(
                "a conversation is named by `key`, or by `channelId` and `conversationId`",
            )),
            TargetRequest::User {
                channel_id,
                user_id,
            } => {
                check_opaque_id("channelId", &channel_id).map_err(|e| invalid(e.to_string()))?;
                check_opaque_id("userId", &user_id).map_err(|e| invalid(e.to_string()))?;
                Ok(Audience::User {
                    channel_id,
                    user_id,
                })
            }
            TargetRequest::Channel { channel_id } => {
                team_place::channel(&channel_id).map(Audience::TeamPlace)
            }
            TargetRequest::Thread {
                conversation_id,
                channel_id,
                message_id,
            } => {
                team_place::thread(conversation_id, channel_id, message_id).map(Audience::TeamPlace)
            }
            TargetRequest::Subscribers { tag: None } => Ok(Audience::Subscribers { tag: None }),
            TargetRequest::Subscribers { tag: Some(raw) } => parse_tag_name(&raw)
                .map(|tag| Audience::Subscribers { tag: Some(tag) })
                .ok_or_else(|| invalid("a tag is 1 to 64 of a-z, 0-9, `-`, `_` and `.`")),
        }
    }
}

fn store_failed(error: crate::store::StoreError) -> ApiError {
    ApiError::internal(&error)
}

fn user_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "UserNotFound",
        "no active conversation with this user",
    )
}

impl Audience {
    /// The queue target for this audience and how many conversations it
    /// reaches now. A single conversation must be known and active.
    pub async fn resolve(&self, store: &dyn Store) -> Result<(Target, u64), ApiError> {
        match self {
            Audience::Conversation(key) => {
                active_reference(store, key).await?;
                Ok((Target::Conversation { key: key.clone() }, 1))
            }
            Audience::TeamPlace(key) => {
                active(team_place::reference(store, key).await?)?;
                Ok((Target::Conversation { key: key.clone() }, 1))
            }
            Audience::User {
                channel_id,
                user_id,
            } => {
                let recipients = self.user_keys(store).await?.len() as u64;
                if recipients == 0 {
                    return Err(user_not_found());
                }
                let target = Target::User {
                    channel_id: channel_id.clone(),
                    user_id: user_id.clone(),
                    after: None,
                };
                Ok((target, recipients))
            }
            Audience::Subscribers { tag } => {
                let recipients = store
                    .count_subscribers(tag.as_deref())
                    .await
                    .map_err(store_failed)?;
                let target = Target::Subscribers {
                    tag: tag.clone(),
                    after: None,
                };
                Ok((target, recipients))
            }
        }
    }

    /// The one conversation something for this audience lives in: the
    /// conversation itself, or the user's most recently active one.
    pub async fn one_conversation(&self, store: &dyn Store) -> Result<ConversationKey, ApiError> {
        match self {
            Audience::Conversation(key) => Ok(active_reference(store, key).await?.key),
            Audience::TeamPlace(key) => Ok(active(team_place::reference(store, key).await?)?.key),
            Audience::User { .. } => {
                let mut latest: Option<StoredReference> = None;
                for key in self.user_keys(store).await? {
                    let reference = store.get_reference(&key).await.map_err(store_failed)?;
                    if let Some(reference) = reference.filter(|r| r.active) {
                        if latest
                            .as_ref()
                            .is_none_or(|l| reference.last_seen > l.last_seen)
                        {
                            latest = Some(reference);
                        }
                    }
                }
                latest.map(|r| r.key).ok_or_else(user_not_found)
            }
            Audience::Subscribers { .. } => Err(invalid(
                "name a conversation or a user: subscribers are not one conversation",
            )),
        }
    }

    /// The keys of a user's active conversations (none for other
    /// audiences), read page by page: a user has few.
    async fn user_keys(&self, store: &dyn Store) -> Result<Vec<ConversationKey>, ApiError> {
        let Audience::User {
            channel_id,
            user_id,
        } = self
        else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .user_conversations(channel_id, user_id, after.as_ref(), USER_PAGE)
                .await
                .map_err(store_failed)?;
            keys.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(keys),
            }
        }
    }
}

/// The stored, active reference of `key`: 404 unknown, 409 inactive.
async fn active_reference(
    store: &dyn Store,
    key: &ConversationKey,
) -> Result<StoredReference, ApiError> {
    let Some(reference) = store.get_reference(key).await.map_err(store_failed)? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ConversationNotFound",
            format!("no stored conversation {key}"),
        ));
    };
    active(reference)
}

/// `reference`, if active: else 409 `ConversationInactive`.
fn active(reference: StoredReference) -> Result<StoredReference, ApiError> {
    let key = &reference.key;
    if !reference.active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ConversationInactive",
            format!(
                "conversation {key} is inactive ({}); it becomes active again when someone writes there",
                reference.inactive_reason.as_deref().unwrap_or("no reason recorded")
            ),
        ));
    }
    Ok(reference)
}
