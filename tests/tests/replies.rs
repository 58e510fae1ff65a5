//! In-turn replies take rate-limit slots like every send and are never
//! lost (`api::replies`): on a channel that enforces the Teams limits a
//! burst of users gets every reply with no 429, and a reply the channel
//! throttles goes to the queue and still arrives as a reply to the
//! activity.

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
use nudge_tests::channel::{Fault, Scripted};
use nudge_tests::host::Harness;
use serde_json::Value;

/// A personal chat's message in one tenant, as Teams posts it.
fn teams_message(harness: &Harness, n: usize, text: &str) -> Value {
    let mut activity = harness.client.message(&format!("user-chat-{n}"), text);
    activity["conversation"]["tenantId"] = "tenant-a".into();
    activity["channelData"] = serde_json::json!({"tenant": {"id": "tenant-a"}});
    activity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_users_get_every_reply_and_confirmation_without_a_429() {
    // At the rigs' jitter allowance, as every test host (`settings_with`).
    let harness = Harness::start("reply-burst").await;
    harness.channel.enforce_teams_limits();
    const USERS: usize = 1000;
    // Within about two seconds: 500 a second, ten times the tenant's limit.
    let turns = (0..USERS).map(|n| {
        let harness = &harness;
        async move {
            tokio::time::sleep(Duration::from_millis(2 * n as u64)).await;
            harness
                .client
                .post_activity(&teams_message(harness, n, "subscribe"))
                .await
                .0
        }
    });
    let statuses = join_all(turns).await;
    assert!(
        statuses.iter().all(|&s| s == 200),
        "every turn answered 200"
    );
    // Every user: the reply (to the activity) and the confirmation.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let (replies, notices) = loop {
        let received = harness.channel.received();
        let replies: HashSet<&str> = received
            .iter()
            .filter(|r| r.reply_to.is_some())
            .map(|r| r.conversation_id.as_str())
            .collect();
        let notices: HashSet<&str> = received
            .iter()
            .filter(|r| r.reply_to.is_none())
            .map(|r| r.conversation_id.as_str())
            .collect();
        if (replies.len(), notices.len()) == (USERS, USERS)
            || tokio::time::Instant::now() > deadline
        {
            break (replies.len(), notices.len());
        }
        drop(received);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(replies, USERS, "every user got the reply");
    assert_eq!(notices, USERS, "every user got the confirmation");
    assert_eq!(
        harness.channel.throttled(),
        0,
        "no 429 from the channel: {:?}",
        harness.channel.refusals()
    );
    let received = harness.channel.received();
    assert_eq!(received.len(), 2 * USERS, "nothing sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_reply_is_queued_and_arrives_as_a_reply() {
    let harness = Harness::start("reply-handover").await;
    let activity = teams_message(&harness, 1, "help");
    let conversation = "user-chat-1";
    harness.channel.respond_in(
        conversation,
        [
            Fault::Answer(Scripted::throttled(Some("1"))),
            Fault::Answer(Scripted::error(503, "ServiceUnavailable")),
        ],
    );
    let (status, _) = harness.client.post_activity(&activity).await;
    assert_eq!(status, 200);
    let arrived = harness
        .channel
        .wait_for("the queued reply", Duration::from_secs(30), |r| {
            r.conversation_id == conversation
        })
        .await;
    let id = activity["id"].as_str().expect("an id");
    assert_eq!(
        arrived.reply_to.as_deref(),
        Some(id),
        "still a reply to the user's message"
    );
    assert_eq!(arrived.activity.reply_to_id.as_deref(), Some(id));
    assert_eq!(
        harness
            .channel
            .received()
            .iter()
            .filter(|r| r.conversation_id == conversation)
            .count(),
        1,
        "once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_sent_only_when_a_slot_is_free_and_never_retried() {
    let harness = Harness::start("reply-typing").await;
    let conversation = "user-chat-2";
    // A throttled typing indicator is dropped, not queued: `run` replies
    // with typing and then its text.
    harness.channel.respond_in(
        conversation,
        [Fault::Answer(Scripted::throttled(Some("1")))],
    );
    let (status, _) = harness
        .client
        .post_activity(&teams_message(&harness, 2, "run 1"))
        .await;
    assert_eq!(status, 200);
    harness
        .channel
        .wait_for("the reply after typing", Duration::from_secs(30), |r| {
            r.conversation_id == conversation && r.activity.kind.as_deref() == Some("message")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let typing = harness
        .channel
        .received()
        .iter()
        .filter(|r| r.conversation_id == conversation)
        .filter(|r| r.activity.kind.as_deref() == Some("typing"))
        .count();
    assert_eq!(typing, 0, "the throttled typing indicator was not retried");
}
