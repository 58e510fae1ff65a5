//! nudge's local host with the real Microsoft 365 Agents Playground as its
//! Teams client and Bot Connector (`nudge_tests::playground`): what issue
//! #15 asks to work there, checked against what the Playground logged.
//!
//! - installing the app in the team lists its channels, and a channel post,
//!   a thread reply, an edit work;
//! - a user who never wrote is reached in a conversation nudge creates;
//! - `run` announces a job and edits that message when the job completes.
//!
//! The Playground (0.2.28) does not implement deleting an activity: it
//! answers 501 `DeleteActivityAPINotImplemented`, which nudge records as
//! the recall's failure (the fake channel's tests cover recall). It also
//! creates personal chats by its own user ids only (`user-id-1`), so a
//! user is named there by `userId`, not by Entra object id.

use std::time::Duration;

use nudge_tests::api::ApiHarness;
use nudge_tests::host::base_url;
use nudge_tests::playground::{Playground, ANNOUNCEMENTS, ME, TEAM, TENANT};
use reqwest::Method;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

/// Waits until `check` holds, polling.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The single delivery record of a finished notification.
async fn delivered(s: &ApiHarness, id: &str) -> Value {
    let status = s.until_complete(id, WAIT).await;
    status["deliveries"][0].clone()
}

async fn notify(s: &ApiHarness, target: Value, text: &str) -> String {
    let answer = s
        .api
        .post("/api/notify", &json!({"target": target, "text": text}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body["notificationId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn teams_features_work_in_the_agents_playground() {
    let s = ApiHarness::start("playground").await;
    let playground = Playground::start(&format!("{}/api/messages", base_url(&s.host))).await;

    // Installed in the team: nudge asks for the team's channels.
    playground.install(TEAM).await;
    playground.install(&playground.personal_chat).await;
    let announcements = format!("msteams#{ANNOUNCEMENTS}");
    until("the team's channels are known", || async {
        let listed = s.api.get("/api/conversations?limit=100").await;
        listed.body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == announcements && c["channel"]["name"] == "Announcements")
    })
    .await;

    // A new post in a channel nobody wrote in, a reply in its thread, and
    // an edit of the post.
    let post = notify(
        &s,
        json!({"kind": "channel", "channelId": ANNOUNCEMENTS}),
        "Release 2.0 is out",
    )
    .await;
    let record = delivered(&s, &post).await;
    assert_eq!(record["status"], "sent", "{record}");
    let posted = record["activityId"].as_str().unwrap().to_owned();
    let reply = notify(
        &s,
        json!({"kind": "thread", "channelId": ANNOUNCEMENTS, "messageId": posted}),
        "Notes are in the wiki",
    )
    .await;
    assert_eq!(delivered(&s, &reply).await["status"], "sent");
    let edit = s
        .api
        .request(
            Method::PATCH,
            &format!("/api/notifications/{post}"),
            json!({"text": "Release 2.0.1 is out"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(edit.status, 202, "{}", edit.body);
    let edit = edit.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&edit, WAIT).await;
    assert_eq!(status["counts"]["sent"], 1, "{status}");
    let shown = playground.bot_messages("Release 2.0.1 is out");
    assert_eq!(shown.len(), 1, "the update reached the Playground");
    assert_eq!(shown[0]["request"]["body"]["id"], json!(posted));
    assert_eq!(shown[0]["response"]["statusCode"], 200, "{}", shown[0]);

    // The recall: the Playground has no delete.
    let recall = s
        .api
        .request(
            Method::DELETE,
            &format!("/api/notifications/{post}"),
            String::new(),
            &[],
        )
        .await;
    assert_eq!(recall.status, 202, "{}", recall.body);
    let recall = recall.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&recall, WAIT).await;
    let why = status["deliveries"][0]["lastError"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("DeleteActivityAPINotImplemented"), "{status}");

    // A user who never wrote: nudge creates the 1:1 conversation.
    let isaiah = notify(
        &s,
        json!({"kind": "user", "tenantId": TENANT, "userId": "user-id-3"}),
        "Hello Isaiah",
    )
    .await;
    let record = delivered(&s, &isaiah).await;
    assert_eq!(record["status"], "sent", "{record}");
    let created: Vec<Value> = playground
        .bot_calls()
        .into_iter()
        .filter(|c| c["activityName"] == "createConversation")
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        created[0]["request"]["body"]["members"][0]["id"],
        "user-id-3"
    );
    let greeting = playground.bot_messages("Hello Isaiah");
    assert_eq!(
        greeting[0]["conversationId"],
        record["conversation"]
            .as_str()
            .unwrap()
            .trim_start_matches("msteams#")
    );

    // A job's announcement, edited in place when it completes.
    playground.say(&playground.personal_chat, ME, "run 1").await;
    until("the announcement is edited", || async {
        !playground.bot_messages("it is complete.").is_empty()
    })
    .await;
    let announced = playground.bot_messages("We're starting job");
    let edited = playground.bot_messages("We ran job");
    assert_eq!(
        edited[0]["request"]["body"]["id"], announced[0]["response"]["body"]["id"],
        "the announcement itself is edited: {edited:?}"
    );
    assert!(!playground.bot_messages("is complete.").is_empty());
    s.host.stop().await;
}
