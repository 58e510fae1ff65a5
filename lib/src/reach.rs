//! Reaching a Teams user who never wrote to the bot: the `user` target
//! with a tenant (`{"kind": "user", "tenantId", "aadObjectId" | "userId"}`).
//!
//! Teams lets a bot open a 1:1 conversation with any user of a tenant
//! where the app is installed for that user (`POST /v3/conversations`),
//! but it needs the tenant's service URL and the bot's id there, which
//! only a conversation in that tenant tells. So nudge keeps a small
//! directory ([`crate::store::DirectoryStore`]): each stored Teams
//! conversation notes its tenant's service URL and bot id, and each 1:1
//! conversation, created or written from, notes its user under both of
//! their ids. A tenant nudge has never heard from is reached through the
//! configured default service URL (`NUDGE_TEAMS_SERVICE_URL`), which
//! the trust policy must allow like any unverified URL, as the app's id
//! (`28:{MicrosoftAppId}`).
//!
//! This module holds the rules the webhook API (which refuses a tenant it
//! cannot reach), the bot (which writes the entries) and the notifier
//! (which creates the conversation, `delivery/member.rs`) share.

use jiff::Timestamp;

use crate::activity::{ChannelAccount, ConversationAccount, ConversationReference};
use crate::ids::ConversationKey;
use crate::service_url::{Provenance, ServiceUrl};
use crate::store::{
    DirectoryEntry, DirectoryKey, DirectoryStore, MemberRecord, Store, StoreError, StoredReference,
    TenantRecord,
};

/// The channel id of Teams conversations.
pub const TEAMS: &str = "msteams";

/// Teams' conversation type of a 1:1 chat with the bot.
const PERSONAL: &str = "personal";

/// How nudge reaches a tenant it has no conversation in.
#[derive(Debug, Clone, Default)]
pub struct TeamsSettings {
    /// The default service URL (`NUDGE_TEAMS_SERVICE_URL`).
    pub service_url: Option<ServiceUrl>,
    /// The bot's Teams id, `28:` and its app id (from `MicrosoftAppId`).
    pub bot_id: Option<String>,
}

/// Where, and as whom, to open a conversation in one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The tenant's service URL.
    pub service_url: ServiceUrl,
    /// Whether a Bot Connector token vouched for it.
    pub provenance: Provenance,
    /// The bot's id in the tenant.
    pub bot_id: String,
}

impl TeamsSettings {
    /// How to reach `tenant_id`: from its directory entry, else from the
    /// settings; `Err` says why it cannot be reached.
    pub async fn reach(
        &self,
        store: &dyn DirectoryStore,
        tenant_id: &str,
    ) -> Result<Result<Reach, String>, StoreError> {
        let known = match store
            .get_directory_entry(&DirectoryKey::Tenant(tenant_id.to_owned()))
            .await?
        {
            Some(DirectoryEntry::Tenant(tenant)) => Some(tenant),
            _ => None,
        };
        let learned = known.and_then(|tenant| {
            let url = tenant.service_url.parse().ok()?;
            Some((url, tenant.provenance, tenant.bot_id))
        });
        let (service_url, provenance, bot_id) = match learned {
            Some(found) => found,
            None => match &self.service_url {
                Some(url) => (url.clone(), Provenance::Unverified, None),
                None => {
                    return Ok(Err(format!(
                        "nudge has no conversation in tenant {tenant_id} and \
                         NUDGE_TEAMS_SERVICE_URL is not set"
                    )))
                }
            },
        };
        let Some(bot_id) = bot_id.or_else(|| self.bot_id.clone()) else {
            return Ok(Err(format!(
                "nudge does not know the bot's id in tenant {tenant_id}: set MicrosoftAppId"
            )));
        };
        Ok(Ok(Reach {
            service_url,
            provenance,
            bot_id,
        }))
    }
}

/// The active 1:1 conversation nudge has noted with `member_id` of
/// `tenant_id`; `None` for a user it has none with, or whose conversation
/// is inactive (the app removed, the bot blocked: Teams is asked again,
/// and answers 403 while it stays closed).
pub async fn active_conversation(
    store: &dyn Store,
    tenant_id: &str,
    member_id: &str,
) -> Result<Option<ConversationKey>, StoreError> {
    let key = DirectoryKey::Member {
        tenant_id: tenant_id.to_owned(),
        member_id: member_id.to_owned(),
    };
    let Some(DirectoryEntry::Member(member)) = store.get_directory_entry(&key).await? else {
        return Ok(None);
    };
    let reference = store.get_reference(&member.conversation).await?;
    Ok(reference.filter(|r| r.active).map(|r| r.key))
}

/// The tenant entry a stored Teams reference gives, if it names a tenant
/// and a service URL.
pub fn tenant_entry(stored: &StoredReference, now: Timestamp) -> Option<DirectoryEntry> {
    let reference = &stored.reference;
    if stored.key.channel_id() != TEAMS {
        return None;
    }
    Some(DirectoryEntry::Tenant(TenantRecord {
        tenant_id: tenant_of(reference)?.to_owned(),
        service_url: reference.service_url.clone()?,
        provenance: stored.provenance,
        bot_id: reference
            .bot
            .as_ref()
            .map(|bot| bot.id.clone())
            .filter(|id| !id.is_empty()),
        seen: now,
    }))
}

/// The member entries a stored Teams 1:1 reference gives: its user under
/// their Teams id and their Entra object id.
pub fn member_entries(stored: &StoredReference, now: Timestamp) -> Vec<DirectoryEntry> {
    let reference = &stored.reference;
    let personal = reference
        .conversation
        .as_ref()
        .and_then(|c| c.conversation_type.as_deref())
        == Some(PERSONAL);
    let (Some(tenant), Some(user)) = (tenant_of(reference), reference.user.as_ref()) else {
        return Vec::new();
    };
    if stored.key.channel_id() != TEAMS || !personal {
        return Vec::new();
    }
    [Some(&user.id), user.aad_object_id.as_ref()]
        .into_iter()
        .flatten()
        .filter(|id| !id.is_empty())
        .map(|id| {
            DirectoryEntry::Member(MemberRecord {
                tenant_id: tenant.to_owned(),
                member_id: id.clone(),
                conversation: stored.key.clone(),
                seen: now,
            })
        })
        .collect()
}

/// The reference of a 1:1 conversation Teams created at `reach` for
/// `member_id` of `tenant_id`, answering with `conversation_id` (and
/// perhaps another service URL).
pub fn created_reference(
    reach: &Reach,
    tenant_id: &str,
    member_id: &str,
    conversation_id: &str,
    service_url: Option<&str>,
    now: Timestamp,
) -> Result<StoredReference, crate::ids::IdError> {
    let key = ConversationKey::new(TEAMS, conversation_id)?;
    // The user's Teams id, when the caller named them by it; a user named
    // by Entra object id is not named as the recipient (an activity's
    // recipient is a Teams id) until they write, which refreshes the
    // reference.
    let user = (!crate::ids::is_object_id(member_id)).then(|| ChannelAccount {
        id: member_id.to_owned(),
        ..ChannelAccount::default()
    });
    let service_url = service_url
        .filter(|url| url.parse::<ServiceUrl>().is_ok())
        .map_or_else(|| reach.service_url.to_string(), str::to_owned);
    Ok(StoredReference {
        key,
        reference: ConversationReference {
            user,
            bot: Some(ChannelAccount {
                id: reach.bot_id.clone(),
                ..ChannelAccount::default()
            }),
            conversation: Some(ConversationAccount {
                id: conversation_id.to_owned(),
                is_group: Some(false),
                conversation_type: Some(PERSONAL.into()),
                tenant_id: Some(tenant_id.to_owned()),
                ..ConversationAccount::default()
            }),
            channel_id: Some(TEAMS.into()),
            service_url: Some(service_url),
            ..ConversationReference::default()
        },
        active: true,
        inactive_reason: None,
        last_seen: now,
        provenance: reach.provenance,
        team_channel: None,
    })
}

fn tenant_of(reference: &ConversationReference) -> Option<&str> {
    reference
        .conversation
        .as_ref()
        .and_then(|c| c.tenant_id.as_deref())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(conversation_type: &str) -> StoredReference {
        let key = ConversationKey::new(TEAMS, "a:1").unwrap();
        let mut stored = StoredReference::minimal(
            &key,
            "https://smba.trafficmanager.net/teams/",
            Provenance::Verified,
        );
        let reference = &mut stored.reference;
        reference.user = Some(ChannelAccount {
            id: "29:ann".into(),
            aad_object_id: Some("00000000-0000-0000-0000-0000000000a1".into()),
            ..ChannelAccount::default()
        });
        reference.bot = Some(ChannelAccount {
            id: "28:bot".into(),
            ..ChannelAccount::default()
        });
        let conversation = reference.conversation.as_mut().unwrap();
        conversation.conversation_type = Some(conversation_type.into());
        conversation.tenant_id = Some("t1".into());
        stored
    }

    #[test]
    fn a_personal_conversation_notes_its_user_under_both_ids() {
        let now = Timestamp::UNIX_EPOCH;
        let ids: Vec<DirectoryKey> = member_entries(&stored("personal"), now)
            .iter()
            .map(DirectoryEntry::key)
            .collect();
        let member = |id: &str| DirectoryKey::Member {
            tenant_id: "t1".into(),
            member_id: id.into(),
        };
        assert_eq!(
            ids,
            [
                member("29:ann"),
                member("00000000-0000-0000-0000-0000000000a1")
            ]
        );
        assert!(member_entries(&stored("groupChat"), now).is_empty());
        let Some(DirectoryEntry::Tenant(tenant)) = tenant_entry(&stored("groupChat"), now) else {
            panic!("a tenant entry");
        };
        assert_eq!(tenant.bot_id.as_deref(), Some("28:bot"));
        assert_eq!(tenant.provenance, Provenance::Verified);
    }

    #[test]
    fn object_ids_are_told_from_teams_ids() {
        use crate::ids::is_object_id;
        assert!(is_object_id("00000000-0000-0000-0000-0000000000a1"));
        // The Agents Playground's mock users: a GUID's alphabet, not its
        // group lengths.
        assert!(is_object_id("00000000-0000-0000-0000-0000000000021"));
        for other in [
            "29:1abc-DEF_g",
            "user-id-1",
            "ann",
            "deadbeef",
            "-0000-0000-",
            "",
        ] {
            assert!(!is_object_id(other), "{other}");
        }
    }
}
