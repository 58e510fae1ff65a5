//! `ConversationReference`: everything needed to speak in a conversation
//! later, without an incoming activity to reply to.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ChannelAccount, ConversationAccount};

/// A pointer to a conversation, as the channel described it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationReference {
    /// The activity the reference was taken from (a reply to it threads under
    /// it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// The user the bot talks to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ChannelAccount>,
    /// The bot, as the channel knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<ChannelAccount>,
    /// The conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationAccount>,
    /// The channel: `msteams`, `webchat`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Where to send to this conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    /// The user's language, as a BCP 47 tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Fields the schema does not document, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
