//! `Turn`: an incoming activity that has been checked at the edge.
//!
//! An activity from a channel is only worth handling if it says what it is
//! (`type`), where it came from (`channelId`, `conversation.id`) and where to
//! answer (`serviceUrl`). `Turn::parse` checks that once; everything past the
//! HTTP layer takes a `Turn` and never re-checks. The accounts' ids are
//! checked as well when present, because they are stored and indexed.
//!
//! A parsed turn's service URL is [`Provenance::Unverified`] until inbound
//! authentication says otherwise ([`Turn::with_provenance`]).

use crate::activity::Activity;
use crate::ids::{check_opaque_id, ConversationKey, IdError};
use crate::service_url::{Provenance, ServiceUrl};

/// An incoming activity that names its conversation and a service URL.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The activity, as the channel sent it.
    pub activity: Activity,
    /// Its conversation.
    pub key: ConversationKey,
    /// Where to answer.
    pub service_url: ServiceUrl,
    /// Whether a Bot Connector token vouched for `service_url`.
    pub provenance: Provenance,
}

impl Turn {
    /// Reads the activity's type, conversation and service URL (checked,
    /// bounded); its provenance is unverified until authentication says
    /// otherwise.
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
        for (what, account) in [
            ("from.id", activity.from.as_ref()),
            ("recipient.id", activity.recipient.as_ref()),
        ] {
            if let Some(account) = account.filter(|a| !a.id.is_empty()) {
                check_opaque_id(what, &account.id)?;
            }
        }
        Ok(Turn {
            activity,
            key,
            service_url,
            provenance: Provenance::Unverified,
        })
    }

    /// The turn as authentication judged its service URL.
    pub fn with_provenance(self, provenance: Provenance) -> Self {
        Turn { provenance, ..self }
    }

    /// The conversation's tenant ([`Activity::tenant_id`]).
    pub fn tenant(&self) -> Option<&str> {
        self.activity.tenant_id()
    }

    /// The user who sent the activity, as `{channelId}#{userId}`, when it
    /// names one: what per-user caps count by.
    pub fn user(&self) -> Option<String> {
        let from = self.activity.from.as_ref().filter(|a| !a.id.is_empty())?;
        Some(format!("{}#{}", self.key.channel_id(), from.id))
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

    #[test]
    fn account_ids_are_checked_when_present() {
        let base = json!({"type": "message", "channelId": "emulator",
            "serviceUrl": "http://localhost:5000", "conversation": {"id": "c1"}});
        let mut bad = base.clone();
        bad["from"] = json!({"id": "a\u{0}b"});
        assert_eq!(
            Turn::parse(activity(bad)).unwrap_err(),
            IdError::ControlCharacter("from.id")
        );
        let mut long = base.clone();
        long["recipient"] = json!({"id": "x".repeat(crate::ids::MAX_ID_LEN + 1)});
        assert_eq!(
            Turn::parse(activity(long)).unwrap_err(),
            IdError::TooLong("recipient.id")
        );
        let mut empty = base;
        empty["from"] = json!({"name": "no id"});
        let turn = Turn::parse(activity(empty)).unwrap();
        assert_eq!(turn.provenance, Provenance::Unverified);
    }
}
