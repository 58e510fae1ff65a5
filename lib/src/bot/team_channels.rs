//! Following a team's channels: Teams tells a bot installed in a team when
//! a channel is created, renamed, restored or deleted (a
//! `conversationUpdate` in the team's own conversation whose
//! `channelData.eventType` names the event and `channelData.channel` the
//! channel). A bot installed in the team may post in every channel, so a
//! new or restored channel is stored as a conversation of its own (the
//! team's reference with the channel's id, named as the event names it),
//! listed by `GET /api/conversations` and reached by the `channel` target
//! before anyone writes there; a renamed one gets its new name, and a
//! deleted one is marked inactive.

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
        let Some(channel_id) = place.channel_id.clone() else {
            return Ok(());
        };
        let Ok(key) = ConversationKey::new(turn.key.channel_id(), &channel_id) else {
            return Ok(());
        };
        if key == turn.key {
            return Ok(());
        }
        if event == "channelDeleted" {
            return self
                .store
                .deactivate_reference(&key, "channel deleted")
                .await;
        }
        let earlier = self.store.get_reference(&key).await?;
        let mut reference = turn.activity.conversation_reference();
        reference.activity_id = None;
        if let Some(conversation) = reference.conversation.as_mut() {
            conversation.id = channel_id;
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
