//! The Bot Framework v3 activity schema, as serde types.
//!
//! Every field the schema documents is a typed field in camelCase on the
//! wire; every field it does not document (channel extensions, newer schema
//! additions) lands in an `extra` map and is written back unchanged. So an
//! activity that is read and written back loses nothing, and a conversation
//! reference stored today is exactly what the channel sent, even for fields
//! this crate has never heard of.
//!
//! Two deliberate choices:
//! - Timestamps stay strings. Channels send anything from `...Z` with seven
//!   fractional digits to local offsets; re-formatting them would change the
//!   bytes we write back. [`Activity::timestamp_parsed`] gives the typed value.
//! - `type` stays a string with constants in [`kind`]: a new activity type
//!   from a channel must round-trip, not fail to parse.
//!
//! What "loses nothing" means precisely (pinned by `tests/activity_round_trip.rs`):
//! - An explicit `null` in a *typed* optional field (`"replyToId": null`)
//!   reads as absent and is not written back. The schema gives `null` and
//!   absent the same meaning and the SDKs never write `null`, so no
//!   information is lost; only the bytes differ. A `null` in an unknown
//!   field, or anywhere inside `channelData`, `value`, attachment `content`
//!   and other opaque JSON, is kept.
//! - The few fields the schema requires (`id` of an account, `contentType`,
//!   entity and card action `type`, suggested `actions`) are plain values:
//!   when missing or `null` they read as empty and are written back as
//!   empty (`"id": ""`) rather than failing the whole activity.

mod account;
mod attachment;
mod reference;

pub use account::{ChannelAccount, ConversationAccount};
pub use attachment::{Attachment, CardAction, Entity, SuggestedActions};
pub use reference::ConversationReference;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads a required field leniently: `null` becomes the default value
/// instead of an error (with `#[serde(default)]`, absence does too).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Activity `type` values this crate acts on.
pub mod kind {
    pub const MESSAGE: &str = "message";
    pub const CONVERSATION_UPDATE: &str = "conversationUpdate";
    pub const INSTALLATION_UPDATE: &str = "installationUpdate";
    pub const EVENT: &str = "event";
    pub const TYPING: &str = "typing";
    pub const INVOKE: &str = "invoke";
}

/// Content type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// A Bot Framework activity (schema v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<ChannelAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<ChannelAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_layout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_added: Option<Vec<ChannelAccount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_removed: Option<Vec<ChannelAccount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions_added: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions_removed: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_disclosed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speak: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_actions: Option<SuggestedActions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Attachment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<Entity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<ConversationReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_for: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_highlights: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_action: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// Fields the schema does not document, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Activity {
    /// A message activity with the given text, unaddressed.
    pub fn message(text: impl Into<String>) -> Self {
        Activity {
            kind: Some(kind::MESSAGE.into()),
            text: Some(text.into()),
            ..Default::default()
        }
    }

    /// A typing indicator, unaddressed.
    pub fn typing() -> Self {
        Activity {
            kind: Some(kind::TYPING.into()),
            ..Default::default()
        }
    }

    /// Whether this activity's `type` is `kind` (the schema compares types
    /// case-insensitively).
    pub fn is(&self, kind: &str) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    }

    /// The conversation's tenant: `conversation.tenantId`, else Teams'
    /// `channelData.tenant.id`. Channels without tenants send neither.
    pub fn tenant_id(&self) -> Option<&str> {
        self.conversation
            .as_ref()
            .and_then(|c| c.tenant_id.as_deref())
            .or_else(|| {
                self.channel_data
                    .as_ref()?
                    .get("tenant")?
                    .get("id")?
                    .as_str()
            })
            .filter(|t| !t.is_empty())
    }

    /// `timestamp` parsed as an instant, when present and well-formed.
    pub fn timestamp_parsed(&self) -> Option<jiff::Timestamp> {
        self.timestamp.as_deref()?.parse().ok()
    }

    /// The reference a bot keeps to speak in this conversation later:
    /// the user (`from`), the bot (`recipient`), the conversation, channel
    /// and service URL exactly as this activity carried them.
    pub fn conversation_reference(&self) -> ConversationReference {
        ConversationReference {
            activity_id: self.id.clone(),
            user: self.from.clone(),
            bot: self.recipient.clone(),
            conversation: self.conversation.clone(),
            channel_id: self.channel_id.clone(),
            service_url: self.service_url.clone(),
            locale: self.locale.clone(),
            extra: Map::new(),
        }
    }

    /// Addresses `self` as a reply to `incoming`: same conversation, channel
    /// and service URL, from the bot to the sender, in reply to its id.
    pub fn addressed_as_reply_to(mut self, incoming: &Activity) -> Self {
        self.from = incoming.recipient.clone();
        self.recipient = incoming.from.clone();
        self.conversation = incoming.conversation.clone();
        self.channel_id = incoming.channel_id.clone();
        self.service_url = incoming.service_url.clone();
        self.reply_to_id = incoming.id.clone();
        if self.locale.is_none() {
            self.locale = incoming.locale.clone();
        }
        self
    }

    /// Addresses `self` as a new, proactive activity in the referenced
    /// conversation: from the bot, to the user.
    pub fn addressed_to(mut self, reference: &ConversationReference) -> Self {
        self.from = reference.bot.clone();
        self.recipient = reference.user.clone();
        self.conversation = reference.conversation.clone();
        self.channel_id = reference.channel_id.clone();
        self.service_url = reference.service_url.clone();
        if self.locale.is_none() {
            self.locale = reference.locale.clone();
        }
        self
    }
}
