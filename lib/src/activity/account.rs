//! Who is talking and where: `ChannelAccount` and `ConversationAccount`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user or bot on a channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAccount {
    /// The channel's id for the user or bot (Teams: `29:…` for a user, `28:…`
    /// for a bot).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub id: String,
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's Microsoft Entra object id (Teams).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aad_object_id: Option<String>,
    /// `user` or `bot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Channel extensions (Teams `userRole`, `tenantId`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A conversation: a 1:1 chat, a group chat, or a channel thread.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationAccount {
    /// The channel's id for the conversation (Teams: `a:…` personal, `19:…`
    /// group chat or channel; a thread adds `;messageid=…`).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub id: String,
    /// The conversation's name, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether more than two people take part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    /// Teams: `personal`, `groupChat` or `channel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_type: Option<String>,
    /// The Microsoft Entra tenant the conversation belongs to (Teams).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The Entra object id, for a conversation that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aad_object_id: Option<String>,
    /// `user` or `bot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Channel extensions, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
