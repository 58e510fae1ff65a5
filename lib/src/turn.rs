//! `Turn`: an incoming activity that has been checked at the edge.
//!
//! An activity from a channel is only worth handling if it says what it is
//! (`type`), where it came from (`channelId`, `conversation.id`) and where to
//! answer (`serviceUrl`). `Turn::parse` checks that once; everything past the
//! HTTP layer takes a `Turn` and never re-checks.

use crate::activity::Activity;
use crate::ids::{check_opaque_id, ConversationKey, IdError};
use crate::service_url::ServiceUrl;

#[derive(Debug, Clone)]
pub struct Turn {
    pub activity: Activity,
    pub key: ConversationKey,
    pub service_url: ServiceUrl,
}

impl Turn {
    pub fn parse(activity: Activity) -> Result<Self, IdError> {
        check_opaque_id("type", activity.kind.as_deref().unwrap_or_default())?;
        let conversation = activity
            .conversation
            .as_ref()
            .ok_or(IdError::Missing("conversation"))?;
        let key = ConversationKey::new(
            activity.channel_id.as_deref().unwrap_or_default(),
            &conversation.id,
        )?;
        let service_url = activity
            .service_url
            .as_deref()
            .ok_or(IdError::Missing("serviceUrl"))?
            .parse()?;
        if let Some(id) = activity.id.as_deref() {
            check_opaque_id("id", id)?;
        }
        Ok(Turn {
            activity,
            key,
            service_url,
        })
    }

    /// Whether `account_id` is the bot itself (the turn's recipient).
    pub fn is_bot(&self, account_id: &str) -> bool {
        self.activity
            .recipient
            .as_ref()
            .is_some_and(|bot| bot.id == account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn activity(value: serde_json::Value) -> Activity {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn accepts_a_complete_activity() {
        let turn = Turn::parse(activity(json!({
            "type": "message", "id": "1", "channelId": "emulator",
            "serviceUrl": "http://localhost:5000", "conversation": {"id": "c1"}
        })))
        .unwrap();
        assert_eq!(turn.key.to_string(), "emulator#c1");
    }

    #[test]
    fn names_the_first_missing_part() {
        let base = json!({"type": "message", "channelId": "emulator",
            "serviceUrl": "http://localhost:5000", "conversation": {"id": "c1"}});
        for (field, expected) in [
            ("type", IdError::Missing("type")),
            ("conversation", IdError::Missing("conversation")),
            ("serviceUrl", IdError::Missing("serviceUrl")),
            ("channelId", IdError::Missing("channelId")),
        ] {
            let mut value = base.clone();
            value.as_object_mut().unwrap().remove(field);
            assert_eq!(Turn::parse(activity(value)).unwrap_err(), expected);
        }
    }
}
