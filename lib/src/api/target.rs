//! Who a webhook call is about, as the caller names it, checked at the edge
//! and then resolved against the store.
//!
//! `{"kind": "conversation", "key": "msteams#19:…"}` (or `channelId` and
//! `conversationId` instead of the key nudge returns), `{"kind": "user",
//! "channelId", "userId"}` (every active conversation whose stored
//! reference names that user), `{"kind": "user", "tenantId",
//! "aadObjectId" | "userId"}` (a Teams user's 1:1 conversation, created
//! if nudge has none: `crate::reach`), `{"kind": "users", "tenantId",
//! "users": […]}` (many of those), `{"kind": "channel"}` and `{"kind":
//! "thread"}` (`team_place`), `{"kind": "subscribers"}` and `{"kind":
//! "subscribers", "tag": "deploys"}`. Nothing here ever names a service
//! URL: messages go where the stored references, or the tenant's
//! directory entry, say.

use axum::http::StatusCode;
use serde::Deserialize;

use super::{team_place, ApiError};
use crate::bot::command::parse_tag_name;
use crate::ids::{check_opaque_id, ConversationKey};
use crate::notification::Target;
use crate::reach::TeamsSettings;
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
    /// A user on a channel (`channelId`, `userId`: every active
    /// conversation naming them), or a Teams user by tenant (`tenantId`
    /// and `aadObjectId` or `userId`: their 1:1 conversation, created
    /// if need be).
    #[serde(rename_all = "camelCase")]
    User {
        channel_id: Option<String>,
        user_id: Option<String>,
        tenant_id: Option<String>,
        aad_object_id: Option<String>,
    },
    /// Teams users of one tenant, each in their 1:1 conversation.
    #[serde(rename_all = "camelCase")]
    Users {
        tenant_id: String,
        users: Vec<UserRequest>,
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

/// One Teams user of a `users` target.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRequest {
    aad_object_id: Option<String>,
    user_id: Option<String>,
}

/// Users one `users` target may list: its queue message carries them all
/// and must fit the smallest queue's message (Azure Storage's 64 KiB).
pub const MAX_USERS: usize = 250;

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
    /// A Teams user by tenant (`crate::reach`).
    Member {
        tenant_id: String,
        member_id: String,
    },
    /// Teams users of one tenant.
    Members {
        tenant_id: String,
        member_ids: Vec<String>,
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
                channel_id: Some(channel_id),
                user_id: Some(user_id),
                tenant_id: None,
                aad_object_id: None,
            } => {
                check_opaque_id("channelId", &channel_id).map_err(|e| invalid(e.to_string()))?;
                check_opaque_id("userId", &user_id).map_err(|e| invalid(e.to_string()))?;
                Ok(Audience::User {
                    channel_id,
                    user_id,
                })
            }
            TargetRequest::User {
                channel_id,
                user_id,
                tenant_id: Some(tenant_id),
                aad_object_id,
            } if channel_id.as_deref().is_none_or(|c| c == TEAMS) => Ok(Audience::Member {
                member_id: member_id(aad_object_id, user_id)?,
                tenant_id: checked_tenant(tenant_id)?,
            }),
            TargetRequest::User { .. } => Err(invalid(
                "a user is named by `channelId` and `userId` (every conversation naming them), \
                 or in Teams by `tenantId` and `aadObjectId` or `userId` (29:…: their 1:1 \
                 conversation with the bot)",
            )),
            TargetRequest::Users { tenant_id, users } => {
                if users.is_empty() || users.len() > MAX_USERS {
                    return Err(invalid(format!(
                        "`users` lists 1 to {MAX_USERS} users; send more in further requests"
                    )));
                }
                let mut member_ids = Vec::with_capacity(users.len());
                for user in users {
                    let id = member_id(user.aad_object_id, user.user_id)?;
                    if !member_ids.contains(&id) {
                        member_ids.push(id);
                    }
                }
                Ok(Audience::Members {
                    tenant_id: checked_tenant(tenant_id)?,
                    member_ids,
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

/// The channel id of Teams.
const TEAMS: &str = crate::reach::TEAMS;

/// A Teams user's id as given: an Entra object id (a GUID) or a Teams id
/// (`29:…` in Teams), one of the two; the queue tells them apart by form
/// ([`crate::ids::is_object_id`]).
fn member_id(aad_object_id: Option<String>, user_id: Option<String>) -> Result<String, ApiError> {
    match (aad_object_id, user_id) {
        (Some(aad), None) if crate::ids::is_object_id(&aad) => Ok(aad),
        (Some(_), None) => Err(invalid(
            "aadObjectId is a Microsoft Entra object id (a GUID)",
        )),
        (None, Some(id))
            if check_opaque_id("userId", &id).is_ok() && !crate::ids::is_object_id(&id) =>
        {
            Ok(id)
        }
        (None, Some(_)) => Err(invalid(
            "userId of a Teams user is their Teams id (29:…); an Entra object id goes in \
             aadObjectId",
        )),
        _ => Err(invalid(
            "a Teams user is named by `aadObjectId` or by `userId` (29:…), one of the two",
        )),
    }
}

fn checked_tenant(tenant_id: String) -> Result<String, ApiError> {
    check_opaque_id("tenantId", &tenant_id).map_err(|e| invalid(e.to_string()))?;
    Ok(tenant_id)
}

/// 404 `TenantNotFound`: nudge cannot reach the tenant (`why`).
fn tenant_not_found(why: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "TenantNotFound", why)
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
    /// A Teams user must be reachable: known, or in a tenant nudge can
    /// reach (`teams`).
    pub async fn resolve(
        &self,
        store: &dyn Store,
        teams: &TeamsSettings,
    ) -> Result<(Target, u64), ApiError> {
        match self {
            Audience::Member {
                tenant_id,
                member_id,
            } => {
                if member_conversation(store, tenant_id, member_id)
                    .await?
                    .is_none()
                {
                    reachable(store, teams, tenant_id).await?;
                }
                let target = Target::Member {
                    tenant_id: tenant_id.clone(),
                    member_id: member_id.clone(),
                };
                Ok((target, 1))
            }
            Audience::Members {
                tenant_id,
                member_ids,
            } => {
                reachable(store, teams, tenant_id).await?;
                let target = Target::Members {
                    tenant_id: tenant_id.clone(),
                    member_ids: member_ids.clone(),
                };
                Ok((target, member_ids.len() as u64))
            }
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
            Audience::Member {
                tenant_id,
                member_id,
            } => member_conversation(store, tenant_id, member_id)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "UserNotFound",
                        "nudge has no conversation with this user yet: a notification to them \
                         creates it",
                    )
                }),
            Audience::Subscribers { .. } | Audience::Members { .. } => Err(invalid(
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

/// The active 1:1 conversation nudge has noted with a Teams user.
async fn member_conversation(
    store: &dyn Store,
    tenant_id: &str,
    member_id: &str,
) -> Result<Option<ConversationKey>, ApiError> {
    crate::reach::active_conversation(store, tenant_id, member_id)
        .await
        .map_err(store_failed)
}

/// Whether nudge can open conversations in `tenant_id`: 404
/// `TenantNotFound` if not.
async fn reachable(
    store: &dyn Store,
    teams: &TeamsSettings,
    tenant_id: &str,
) -> Result<(), ApiError> {
    teams
        .reach(store, tenant_id)
        .await
        .map_err(store_failed)?
        .map(|_| ())
        .map_err(tenant_not_found)
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
