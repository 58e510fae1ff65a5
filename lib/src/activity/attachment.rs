//! What an activity carries besides text: attachments (cards, files),
//! entities (mentions, client info) and suggested actions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A file or card attached to an activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Metadata about an activity: a mention, client info, a place, ...
/// Entity types differ in shape, so everything but `type` is kept as-is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Buttons the client offers as quick replies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedActions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub actions: Vec<CardAction>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One clickable action on a card or a suggested-actions bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardAction {
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_alt_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
