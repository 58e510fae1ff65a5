//! What an activity carries besides text: attachments (cards, files),
//! entities (mentions, client info) and suggested actions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A file or card attached to an activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// What it holds: a MIME type, or a card's type
    /// ([`super::ADAPTIVE_CARD_CONTENT_TYPE`]).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub content_type: String,
    /// Where to fetch it, for a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    /// The card (or other inline content) itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// A file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A small preview image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// Fields the schema does not document, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Metadata about an activity: a mention, client info, a place, ...
/// Entity types differ in shape, so everything but `type` is kept as-is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// What it is (`type`): `mention`, `clientInfo`, `Place`, …
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    /// The entity's fields, verbatim (a mention: `mentioned` and `text`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Buttons the client offers as quick replies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedActions {
    /// The ids of the members the buttons are shown to (all, when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// The buttons.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub actions: Vec<CardAction>,
    /// Fields the schema does not document, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One clickable action on a card or a suggested-actions bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardAction {
    /// What pressing it does (`type`): `imBack`, `messageBack`, `openUrl`,
    /// `postBack`, …
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    /// The button's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An icon shown on the button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The icon's alternative text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_alt_text: Option<String>,
    /// `messageBack`: text sent to the bot, not shown in the chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `messageBack`: text shown in the chat as if the user wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_text: Option<String>,
    /// The action's parameter: text sent back (`imBack`), a URL (`openUrl`),
    /// data (`postBack`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Channel-specific data, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<Value>,
    /// Fields the schema does not document, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
