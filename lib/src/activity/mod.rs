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
    /// A message from a user (or, sent, from the bot).
    pub const MESSAGE: &str = "message";
    /// Members joined or left, or the conversation changed (Teams: a
    /// channel created, renamed or deleted, a team renamed).
    pub const CONVERSATION_UPDATE: &str = "conversationUpdate";
    /// The app was installed or uninstalled for a user, chat or team.
    pub const INSTALLATION_UPDATE: &str = "installationUpdate";
    /// A named event from the client.
    pub const EVENT: &str = "event";
    /// "The bot is typing": sent only when a rate-limit slot is free now.
    pub const TYPING: &str = "typing";
    /// A request that expects an answer in the HTTP response.
    pub const INVOKE: &str = "invoke";
}

/// Content type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// A Bot Framework activity (schema v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// What the activity is (`type`): `message`, `conversationUpdate`,
    /// `installationUpdate`, `typing`, `event`, `invoke` and others ([`kind`]).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The channel's id for the activity; a reply names it as `replyToId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the channel received or sent it (UTC, RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The same moment in the client's local time, with its offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_timestamp: Option<String>,
    /// The client's IANA time zone name, when the channel reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_timezone: Option<String>,
    /// Where the bot sends its answers and proactive messages for this
    /// conversation (trusted only after authentication: `crate::service_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    /// The channel: `msteams`, `webchat`, `slack`, `emulator`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Who sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<ChannelAccount>,
    /// The conversation it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationAccount>,
    /// Who it is addressed to (for an incoming activity, the bot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<ChannelAccount>,
    /// How `text` is to be read: `markdown` (the default), `plain` or `xml`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_format: Option<String>,
    /// How several attachments are shown: `list` or `carousel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_layout: Option<String>,
    /// `conversationUpdate`: who joined (the bot itself, when it was added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_added: Option<Vec<ChannelAccount>>,
    /// `conversationUpdate`: who left (the bot itself, when it was removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_removed: Option<Vec<ChannelAccount>>,
    /// `messageReaction`: reactions added to one of the bot's messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions_added: Option<Vec<Value>>,
    /// `messageReaction`: reactions removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions_removed: Option<Vec<Value>>,
    /// `conversationUpdate`: the conversation's new topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// `conversationUpdate`: whether earlier history is visible to members who
    /// joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_disclosed: Option<bool>,
    /// The sender's language, as a BCP 47 tag (`en-US`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The message text, read as `text_format` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// What a speech channel says aloud (SSML or plain text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speak: Option<String>,
    /// Whether the bot expects an answer: `acceptingInput`, `expectingInput` or
    /// `ignoringInput`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_hint: Option<String>,
    /// A short text shown where the channel cannot show the attachments (Teams'
    /// chat list, notifications).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Buttons offered with the message, gone once the user answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_actions: Option<SuggestedActions>,
    /// Cards and files carried by the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Attachment>>,
    /// Mentions, places and other structured data about the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<Entity>>,
    /// Channel-specific data, verbatim (Teams: `tenant`, `team`, `channel`,
    /// `notification`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<Value>,
    /// `installationUpdate` and `contactRelationUpdate`: `add`, `remove`, `add-
    /// upgrade`, `remove-upgrade`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The activity this one answers (Teams threads replies under it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
    /// `trace`: a descriptive label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `trace`: the type of `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// Data for `event`, `invoke` and card submits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The name of an `event` or `invoke` (Teams: `task/fetch`,
    /// `adaptiveCard/action`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The conversation an `event` refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<ConversationReference>,
    /// `endOfConversation`: why it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the message should no longer be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// `low`, `normal` or `high`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    /// `normal`, `notification`, or `expectReplies` (the replies come back in
    /// the HTTP response instead of through the Connector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_mode: Option<String>,
    /// Phrases a speech channel should listen for next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_for: Option<Vec<String>>,
    /// Parts of a referenced text to highlight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_highlights: Option<Vec<Value>>,
    /// An action the message is part of (a programmatic, not a visible, one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_action: Option<Value>,
    /// Who called the bot, when not a channel (another bot:
    /// `urn:botframework:aadappid:…`).
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

    /// The team and channel a Teams conversation belongs to
    /// (`channelData.team` and `channelData.channel`), with the names
    /// where this activity gives them (install and update events do;
    /// messages carry ids only). `None` outside a team.
    ///
    /// A channel event (`channelCreated`, `channelRenamed`, …) names in
    /// `channelData.channel` the channel it is about, while it arrives in
    /// the team's own conversation (the General channel): a channel that is
    /// not this conversation's is left out here, and is the event's
    /// ([`Activity::channel_event`]).
    pub fn team_channel(&self) -> Option<TeamChannel> {
        let place = self.named_team_channel()?;
        let own = self.conversation.as_ref().map(|c| {
            c.id.split_once(";messageid=")
                .map_or(c.id.as_str(), |(channel, _)| channel)
        });
        match own {
            Some(own) if place.channel_id.as_deref().is_some_and(|c| c != own) => {
                Some(TeamChannel {
                    channel_id: Some(own.to_owned()),
                    channel_name: None,
                    ..place
                })
            }
            _ => Some(place),
        }
    }

    /// A Teams channel event (`channelData.eventType`: `channelCreated`,
    /// `channelRenamed`, `channelRestored`, `channelDeleted`) and the team
    /// channel it is about, with its name.
    pub fn channel_event(&self) -> Option<(&str, TeamChannel)> {
        let event = self.teams_event().filter(|e| e.starts_with("channel"))?;
        let place = self.named_team_channel()?;
        place.channel_id.as_ref()?;
        Some((event, place))
    }

    /// The Teams event a `conversationUpdate` reports
    /// (`channelData.eventType`: `teamRenamed`, `channelCreated`, …).
    pub fn teams_event(&self) -> Option<&str> {
        self.channel_data.as_ref()?.get("eventType")?.as_str()
    }

    /// `channelData.team` and `channelData.channel`, as they are.
    fn named_team_channel(&self) -> Option<TeamChannel> {
        let data = self.channel_data.as_ref()?;
        let field = |object: &str, name: &str| {
            data.get(object)?
                .get(name)?
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(TeamChannel {
            team_id: field("team", "id")?,
            team_name: field("team", "name"),
            channel_id: field("channel", "id"),
            channel_name: field("channel", "name"),
        })
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

/// Where a Teams conversation lives when it is in a team
/// ([`Activity::team_channel`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamChannel {
    /// The team's id (`19:…@thread.tacv2`, the General channel's).
    pub team_id: String,
    /// The team's name, once an event gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// The channel's id (`19:…@thread.tacv2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// The channel's name, once an event gave it (Teams gives none for
    /// the General channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_name: Option<String>,
}

impl TeamChannel {
    /// This place, with the names `earlier` knew where this one has none
    /// (messages carry ids only) and it is the same team and channel.
    pub fn with_names_from(mut self, earlier: Option<&TeamChannel>) -> TeamChannel {
        if let Some(earlier) = earlier.filter(|e| e.team_id == self.team_id) {
            self.team_name = self.team_name.or_else(|| earlier.team_name.clone());
            if earlier.channel_id == self.channel_id {
                self.channel_name = self.channel_name.or_else(|| earlier.channel_name.clone());
            }
        }
        self
    }
}

#[cfg(test)]
mod team_channel_tests {
    use super::*;
    use serde_json::json;

    fn with_channel_data(data: Value) -> Activity {
        Activity {
            channel_data: Some(data),
            ..Activity::default()
        }
    }

    #[test]
    fn a_team_conversation_names_its_team_and_channel_and_others_none() {
        let place = with_channel_data(json!({
            "team": {"id": "19:t@thread.tacv2", "name": "Release"},
            "channel": {"id": "19:c@thread.tacv2"},
            "tenant": {"id": "t1"}
        }))
        .team_channel()
        .expect("in a team");
        assert_eq!(
            place,
            TeamChannel {
                team_id: "19:t@thread.tacv2".into(),
                team_name: Some("Release".into()),
                channel_id: Some("19:c@thread.tacv2".into()),
                channel_name: None,
            }
        );
        for outside in [
            json!({"tenant": {"id": "t1"}}),
            json!({"team": {"id": ""}}),
            json!({"team": {"name": "no id"}}),
        ] {
            assert_eq!(
                with_channel_data(outside.clone()).team_channel(),
                None,
                "{outside}"
            );
        }
        assert_eq!(Activity::default().team_channel(), None);
    }

    #[test]
    fn a_channel_event_is_about_its_channel_not_the_teams_conversation() {
        let mut created = with_channel_data(json!({
            "eventType": "channelCreated",
            "team": {"id": "19:t@thread.tacv2", "name": "Release"},
            "channel": {"id": "19:new@thread.tacv2", "name": "Deploys"},
        }));
        created.conversation = Some(ConversationAccount {
            id: "19:t@thread.tacv2".into(),
            ..ConversationAccount::default()
        });
        let own = created.team_channel().expect("in a team");
        assert_eq!(
            (own.channel_id.as_deref(), own.channel_name),
            (Some("19:t@thread.tacv2"), None),
            "the team's conversation keeps its own channel"
        );
        let (event, place) = created.channel_event().expect("a channel event");
        assert_eq!(event, "channelCreated");
        assert_eq!(
            (place.channel_id.as_deref(), place.channel_name.as_deref()),
            (Some("19:new@thread.tacv2"), Some("Deploys"))
        );
        let mut in_thread = created.clone();
        in_thread.channel_data = Some(json!({
            "team": {"id": "19:t@thread.tacv2"},
            "channel": {"id": "19:new@thread.tacv2"},
        }));
        in_thread.conversation.as_mut().unwrap().id = "19:new@thread.tacv2;messageid=7".into();
        assert_eq!(
            in_thread.team_channel().unwrap().channel_id.as_deref(),
            Some("19:new@thread.tacv2"),
            "a thread belongs to its channel"
        );
        assert!(in_thread.channel_event().is_none());
    }

    #[test]
    fn names_learned_earlier_are_kept_only_for_the_same_team_and_channel() {
        let named = TeamChannel {
            team_id: "t".into(),
            team_name: Some("Release".into()),
            channel_id: Some("c".into()),
            channel_name: Some("Deploys".into()),
        };
        let ids_only = |channel: &str| TeamChannel {
            team_id: "t".into(),
            channel_id: Some(channel.into()),
            ..TeamChannel::default()
        };
        assert_eq!(ids_only("c").with_names_from(Some(&named)), named);
        let other_channel = ids_only("d").with_names_from(Some(&named));
        assert_eq!(
            (
                other_channel.team_name.as_deref(),
                other_channel.channel_name
            ),
            (Some("Release"), None),
            "the team's name carries over, not another channel's"
        );
        let other_team = TeamChannel {
            team_id: "u".into(),
            ..TeamChannel::default()
        }
        .with_names_from(Some(&named));
        assert_eq!(other_team.team_name, None);
        let renamed = TeamChannel {
            team_name: Some("Release 2".into()),
            ..ids_only("c")
        }
        .with_names_from(Some(&named));
        assert_eq!(
            renamed.team_name.as_deref(),
            Some("Release 2"),
            "a new name wins"
        );
    }
}
