//! Following a team's channels, so that the `channel` target reaches any
//! of them before anyone writes there.
//!
//! A bot installed in a team may post in every channel of it. nudge learns
//! them two ways: when the app is installed in a team, the messages
//! endpoint asks Teams for the team's channels
//! (`api::team_install`, `GET /v3/teams/{teamId}/conversations`), and
//! Teams tells the bot when a channel is created, renamed, restored or
//! deleted (a `conversationUpdate` in the team's own conversation whose
//! `channelData.eventType` names the event and `channelData.channel` the
//! channel). Each channel is stored as a conversation of its own: the
//! team's reference with the channel's id, named as Teams names it,
//! listed by `GET /api/conversations`. A deleted channel is marked
//! inactive.

use crate::activity::TeamChannel;
use crate::connector::TeamChannelInfo;
use crate::ids::ConversationKey;
use crate::store::{StoreError, StoredReference};
use crate::turn::Turn;

use super::Bot;

/// Team events after which the team's conversation is refreshed.
const REFRESHING: [&str; 6] = [
    "teamRenamed",
    "teamRestored",
    "teamUnarchived",
    "channelCreated",
    "channelRenamed",
    "channelRestored",
];

impl Bot {
    /// Follows the channel event `turn` carries, if any (see the module
    /// doc).
    pub(super) async fn follow_channel_event(&self, turn: &Turn) -> Result<(), StoreError> {
        // The team's own conversation is refreshed too: a rename names
        // the team anew, and each of these says the bot is still there.
        if turn
            .activity
            .teams_event()
            .is_some_and(|event| REFRESHING.contains(&event))
        {
            self.remember(turn).await?;
        }
        let Some((event, place)) = turn.activity.channel_event() else {
            return Ok(());
        };
        if event == "channelDeleted" {
            let Some(key) = channel_key(turn, &place) else {
                return Ok(());
            };
            return self
                .store
                .deactivate_reference(&key, "channel deleted")
                .await;
        }
        self.remember_channel(turn, place).await
    }

    /// Stores every channel of the team `turn` came from, as Teams listed
    /// them (`api::team_install`).
    pub async fn remember_team_channels(
        &self,
        turn: &Turn,
        channels: &[TeamChannelInfo],
    ) -> Result<(), StoreError> {
        let Some(team) = turn.activity.team_channel() else {
            return Ok(());
        };
        for channel in channels {
            let place = TeamChannel {
                channel_id: Some(channel.id.clone()),
                channel_name: channel.name.clone(),
                ..team.clone()
            };
            self.remember_channel(turn, place).await?;
        }
        Ok(())
    }

    /// Stores the channel `place` of the team `turn` came from, as a
    /// conversation reached with the team's reference; one already stored
    /// keeps when it was last heard from, and is active again.
    async fn remember_channel(&self, turn: &Turn, place: TeamChannel) -> Result<(), StoreError> {
        let Some(key) = channel_key(turn, &place) else {
            return Ok(());
        };
        if key == turn.key {
            return Ok(());
        }
        let earlier = self.store.get_reference(&key).await?;
        let mut reference = turn.activity.conversation_reference();
        reference.activity_id = None;
        if let Some(conversation) = reference.conversation.as_mut() {
            conversation.id = key.conversation_id().to_owned();
            conversation.name = place.channel_name.clone();
            conversation.conversation_type = Some("channel".into());
            if conversation.tenant_id.is_none() {
                conversation.tenant_id = turn.tenant().map(str::to_owned);
            }
        }
        let earlier_place = earlier.as_ref().and_then(|e| e.team_channel.as_ref());
        let stored = StoredReference {
            key,
            reference,
            active: true,
            inactive_reason: None,
            last_seen: earlier.as_ref().map_or_else(|| self.now(), |e| e.last_seen),
            provenance: turn.provenance,
            team_channel: Some(place.with_names_from(earlier_place)),
        };
        self.store.save_reference(&stored).await
    }
}

/// The conversation of the channel `place` names, on the turn's channel.
fn channel_key(turn: &Turn, place: &TeamChannel) -> Option<ConversationKey> {
    let channel_id = place.channel_id.as_deref()?;
    ConversationKey::new(turn.key.channel_id(), channel_id).ok()
}
