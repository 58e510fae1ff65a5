//! What nudge learns of Teams tenants and users, to reach a user who never
//! wrote to the bot (the `user` target with a tenant, `delivery/member.rs`).
//!
//! Two kinds of entry, each found by one exact key, so every adapter keeps
//! them as plain key → JSON rows with no index: a tenant's entry says
//! where its conversations live (the service URL and the bot's account
//! there, from the last conversation nudge stored in it), and a member's
//! entry names the 1:1 conversation nudge has with a user of a tenant,
//! under the user's Microsoft Entra object id and under their Teams id
//! (`29:…`), whichever a caller names. Entries are small and few (one per
//! tenant, two per user reached), and kept: they are how nudge avoids
//! asking Teams to create a conversation it already has.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::ConversationKey;
use crate::service_url::Provenance;

/// Where a Teams tenant's conversations live, as its last stored
/// conversation said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    /// The tenant's id.
    pub tenant_id: String,
    /// The service URL its conversations use.
    pub service_url: String,
    /// Whether a Bot Connector token vouched for that URL.
    #[serde(default)]
    pub provenance: Provenance,
    /// The bot's id in the tenant (`28:…`), as the channel names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// When it was written.
    pub seen: Timestamp,
}

/// The 1:1 conversation nudge has with one user of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRecord {
    /// The user's tenant.
    pub tenant_id: String,
    /// The user as named: their Entra object id, or their Teams id.
    pub member_id: String,
    /// Their 1:1 conversation with the bot.
    pub conversation: ConversationKey,
    /// When it was written.
    pub seen: Timestamp,
}

/// One entry of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DirectoryEntry {
    /// A tenant's.
    Tenant(TenantRecord),
    /// A user's.
    Member(MemberRecord),
}

/// The key an entry is found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectoryKey {
    /// A tenant's entry, by tenant id.
    Tenant(String),
    /// A user's entry, by tenant id and the user's id as named.
    Member {
        /// The tenant.
        tenant_id: String,
        /// The user's Entra object id or Teams id.
        member_id: String,
    },
}

impl DirectoryKey {
    /// The key as one string, the same in every adapter: its parts as a
    /// JSON array, so no id can forge another key whatever it contains.
    pub fn encoded(&self) -> String {
        let parts = match self {
            DirectoryKey::Tenant(tenant) => vec!["tenant", tenant.as_str()],
            DirectoryKey::Member {
                tenant_id,
                member_id,
            } => vec!["member", tenant_id.as_str(), member_id.as_str()],
        };
        serde_json::Value::from(parts).to_string()
    }
}

impl DirectoryEntry {
    /// The key it is stored under.
    pub fn key(&self) -> DirectoryKey {
        match self {
            DirectoryEntry::Tenant(tenant) => DirectoryKey::Tenant(tenant.tenant_id.clone()),
            DirectoryEntry::Member(member) => DirectoryKey::Member {
                tenant_id: member.tenant_id.clone(),
                member_id: member.member_id.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_be_forged_by_their_parts() {
        let member = |t: &str, m: &str| DirectoryKey::Member {
            tenant_id: t.into(),
            member_id: m.into(),
        };
        assert_ne!(
            member("a\",\"b", "c").encoded(),
            member("a", "b\",\"c").encoded()
        );
        assert_ne!(
            DirectoryKey::Tenant("t".into()).encoded(),
            member("t", "").encoded()
        );
        assert_eq!(member("t", "29:x").encoded(), r#"["member","t","29:x"]"#);
    }
}
