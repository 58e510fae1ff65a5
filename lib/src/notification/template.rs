//! Queue bodies, including the Azure Bot Service proactive template's.
//!
//! That template (an Azure Function that drops a message on a storage queue
//! for the bot to deliver) writes `{"relatesTo": <ConversationReference>,
//! "text": "..."}`. Systems built on it keep working when pointed at
//! nudge's queue: such a body becomes a [`Notification`] to
//! [`Target::Reference`], delivered by the same notifier as any other, with
//! two differences that follow from where it came from:
//!
//! - **Its service URL is unverified.** It comes from whoever could write
//!   to the queue, not from a Bot Connector token, so the Connector client
//!   calls it only if its host is on the allow-list
//!   (`NUDGE_TRUSTED_SERVICE_HOSTS`); otherwise the delivery is recorded as
//!   failed and nothing is sent.
//! - **Its id is derived from its content** (a SHA-256 of the reference and
//!   the text), since it brings none: a copy the queue delivers twice is
//!   sent once, like any notification. The same text to the same
//!   reference is therefore sent once per delivery-record retention.

use ring::digest;
use serde::Deserialize;
use serde_json::Value;

use super::{Notification, Reason, Target};
use crate::activity::{Activity, ConversationReference};
use crate::ids::{ConversationKey, IdError, NotificationId};
use crate::service_url::ServiceUrl;

/// Why a queue body is not a notification (retrying cannot fix it).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not nudge's notification JSON.
    #[error("not a notification: {0}")]
    Notification(serde_json::Error),
    /// Marked as a proactive template message, but not a valid one.
    #[error("not a proactive template message: {0}")]
    Template(String),
}

/// The template's message.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateMessage {
    relates_to: ConversationReference,
    text: String,
}

impl Notification {
    /// Reads a queue body: a notification as nudge writes it, or a
    /// proactive template message (an object with `relatesTo` and no
    /// `target`).
    pub fn from_queue_body(body: &str) -> Result<Notification, DecodeError> {
        let value: Value = serde_json::from_str(body).map_err(DecodeError::Notification)?;
        if value.get("relatesTo").is_some() && value.get("target").is_none() {
            return from_template(value);
        }
        serde_json::from_value(value).map_err(DecodeError::Notification)
    }
}

/// The key of the conversation a reference names.
pub fn reference_key(reference: &ConversationReference) -> Result<ConversationKey, IdError> {
    let channel = reference.channel_id.as_deref().unwrap_or_default();
    let conversation = reference
        .conversation
        .as_ref()
        .map_or("", |c| c.id.as_str());
    ConversationKey::new(channel, conversation)
}

fn from_template(value: Value) -> Result<Notification, DecodeError> {
    let invalid = |why: String| DecodeError::Template(why);
    let message: TemplateMessage =
        serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    reference_key(&message.relates_to).map_err(|e| invalid(e.to_string()))?;
    let url = message
        .relates_to
        .service_url
        .as_deref()
        .unwrap_or_default();
    url.parse::<ServiceUrl>()
        .map_err(|e| invalid(format!("relatesTo.serviceUrl: {e}")))?;
    if message.text.trim().is_empty() {
        return Err(invalid("the text is empty".into()));
    }
    Ok(Notification {
        id: content_id(&message)?,
        target: Target::Reference {
            reference: Box::new(message.relates_to),
        },
        activity: Activity::message(message.text),
        reason: Reason::Webhook,
        not_before: None,
        operation: super::Operation::Send,
    })
}

/// `tpl-` and the first 128 bits of a SHA-256 of the reference and the text.
fn content_id(message: &TemplateMessage) -> Result<NotificationId, DecodeError> {
    let canonical = serde_json::to_vec(&(&message.relates_to, &message.text))
        .map_err(|e| DecodeError::Template(e.to_string()))?;
    let digest = digest::digest(&digest::SHA256, &canonical);
    let hex = hex::encode(&digest.as_ref()[..16]);
    format!("tpl-{hex}")
        .parse()
        .map_err(|e: IdError| DecodeError::Template(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(text: &str) -> String {
        json!({
            "relatesTo": {
                "activityId": "a-1",
                "user": {"id": "u-1"},
                "bot": {"id": "b-1"},
                "conversation": {"id": "c-1"},
                "channelId": "msteams",
                "serviceUrl": "https://smba.trafficmanager.net/amer/"
            },
            "text": text
        })
        .to_string()
    }

    #[test]
    fn a_template_message_targets_the_reference_it_carries() {
        let n = Notification::from_queue_body(&template("hello")).unwrap();
        let Target::Reference { reference } = &n.target else {
            panic!("expected a reference target, got {:?}", n.target);
        };
        assert_eq!(reference_key(reference).unwrap().to_string(), "msteams#c-1");
        assert_eq!(n.activity.text.as_deref(), Some("hello"));
        assert_eq!(n.reason, Reason::Webhook);
        assert!(n.id.as_str().starts_with("tpl-"));
    }

    #[test]
    fn the_id_follows_the_content_not_the_bytes() {
        let id = |body: &str| Notification::from_queue_body(body).unwrap().id;
        let spaced = template("hello").replace("\",\"", "\", \"");
        assert_eq!(id(&template("hello")), id(&spaced));
        assert_ne!(id(&template("hello")), id(&template("hello!")));
    }

    #[test]
    fn unusable_template_messages_are_refused() {
        for body in [
            json!({"relatesTo": {"channelId": "x", "serviceUrl": "https://a.b/"}, "text": "t"}),
            json!({"relatesTo": {"channelId": "x", "conversation": {"id": "c"}}, "text": "t"}),
            json!({"relatesTo": {"channelId": "x", "conversation": {"id": "c"},
                   "serviceUrl": "https://a.b/"}, "text": " "}),
            json!({"relatesTo": "nope", "text": "t"}),
        ] {
            assert!(
                matches!(
                    Notification::from_queue_body(&body.to_string()),
                    Err(DecodeError::Template(_))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            Notification::from_queue_body("{"),
            Err(DecodeError::Notification(_))
        ));
    }
}
