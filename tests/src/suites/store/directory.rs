//! The [`Store`] suite's check of the Teams directory: entries read back
//! whole by their exact key, replaced by a later write, and never found
//! under another kind's or another tenant's key.

use jiff::Timestamp;
use nudge::ids::ConversationKey;
use nudge::service_url::Provenance;
use nudge::store::{DirectoryEntry, DirectoryKey, MemberRecord, Store, TenantRecord};

use super::unique;

/// Tenant and member entries round-trip by key, a second write replaces
/// the first, and keys that differ only in kind, tenant or awkward
/// characters stay apart.
pub async fn directory_entries_round_trip(store: &dyn Store) {
    let tenant = unique("tenant/#?\\\u{7f}");
    let seen = Timestamp::from_second(1_750_000_000).expect("a valid instant");
    let tenant_entry = DirectoryEntry::Tenant(TenantRecord {
        tenant_id: tenant.clone(),
        service_url: "https://smba.trafficmanager.net/teams/".into(),
        provenance: Provenance::Verified,
        bot_id: Some("28:bot".into()),
        seen,
    });
    let tenant_key = DirectoryKey::Tenant(tenant.clone());
    let member_key = |member: &str| DirectoryKey::Member {
        tenant_id: tenant.clone(),
        member_id: member.into(),
    };
    let get = |key: DirectoryKey| async move {
        store
            .get_directory_entry(&key)
            .await
            .expect("get_directory_entry")
    };
    assert_eq!(
        get(tenant_key.clone()).await,
        None,
        "nothing before a write"
    );

    store
        .put_directory_entries(std::slice::from_ref(&tenant_entry))
        .await
        .expect("put_directory_entries");
    assert_eq!(get(tenant_key.clone()).await, Some(tenant_entry.clone()));
    assert_eq!(
        get(member_key("")).await,
        None,
        "a tenant's entry is not a member's"
    );
    assert_eq!(
        get(DirectoryKey::Tenant(format!("{tenant}x"))).await,
        None,
        "nor another tenant's"
    );

    let conversation = ConversationKey::new("msteams", &unique("a:1")).expect("a key");
    let member = |id: &str, conversation: &ConversationKey| {
        DirectoryEntry::Member(MemberRecord {
            tenant_id: tenant.clone(),
            member_id: id.into(),
            conversation: conversation.clone(),
            seen,
        })
    };
    let aad = "00000000-0000-0000-0000-0000000000a1";
    let teams_id = "29:1a-b/c#d?e";
    store
        .put_directory_entries(&[])
        .await
        .expect("nothing to write is no error");
    // A user's two entries, as a turn writes them: in one call.
    store
        .put_directory_entries(&[member(aad, &conversation), member(teams_id, &conversation)])
        .await
        .expect("put_directory_entries");
    for id in [aad, teams_id] {
        assert_eq!(get(member_key(id)).await, Some(member(id, &conversation)));
    }
    let moved = ConversationKey::new("msteams", &unique("a:2")).expect("a key");
    store
        .put_directory_entries(&[member(aad, &moved)])
        .await
        .expect("put_directory_entries");
    assert_eq!(
        get(member_key(aad)).await,
        Some(member(aad, &moved)),
        "a later write replaces the entry"
    );
    assert_eq!(
        get(tenant_key).await,
        Some(tenant_entry),
        "members' writes leave the tenant's entry alone"
    );
}
