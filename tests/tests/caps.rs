//! What one conversation or one user may hold at once, and reminders
//! parked while their conversation is closed to the bot.

use std::time::Duration;

use nudge::ids::ConversationKey;
use nudge_tests::client::BotClient;
use nudge_tests::host::Harness;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);

async fn setup(name: &str) -> Harness {
    let env = [
        ("NUDGE_MAX_REMINDERS_PER_CONVERSATION", "3".to_owned()),
        ("NUDGE_MAX_REMINDERS_PER_USER", "4".to_owned()),
        ("NUDGE_MAX_JOBS_PER_CONVERSATION", "2".to_owned()),
        ("NUDGE_MAX_JOBS_PER_USER", "3".to_owned()),
        ("NUDGE_MAX_TAGS_PER_CONVERSATION", "2".to_owned()),
        ("NUDGE_TICK_SECONDS", "1".to_owned()),
    ];
    Harness::start_with(name, &env).await
}

/// `text` from `user` in `conversation`; the reply that contains `expect`.
async fn say_as(s: &Harness, user: &str, conversation: &str, text: &str, expect: &str) -> String {
    let mark = s.channel.texts(conversation).len();
    let mut activity = s.client.message(conversation, text);
    activity["from"]["id"] = json!(user);
    assert_eq!(s.client.post_activity(&activity).await.0, 200);
    s.channel
        .wait_for_text_after(conversation, mark, expect, WAIT)
        .await
}
const FULL: &str = "Sorry, not now";

#[tokio::test]
async fn reminders_are_capped_per_conversation_and_per_user() {
    let s = setup("caps-reminders").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let set = say_as(
            &s,
            "ann",
            "a",
            &format!("remind me every 1 minute to r{n}"),
            "Reminder id",
        )
        .await;
        ids.push(set.rsplit("Reminder id: ").next().unwrap()[..8].to_owned());
    }
    let refused = say_as(&s, "ann", "a", "remind me every 1 minute to r3", FULL).await;
    assert!(
        refused.contains("3 pending reminders is the most one conversation may have"),
        "{refused}"
    );
    say_as(
        &s,
        "ann",
        "a",
        &format!("cancel {}", ids[0]),
        "Cancelled reminder",
    )
    .await;
    say_as(
        &s,
        "ann",
        "a",
        "remind me every 1 minute to r4",
        "Reminder id",
    )
    .await;

    // Ann has 3 here; one more elsewhere reaches her own cap of 4.
    say_as(
        &s,
        "ann",
        "b",
        "remind me every 1 minute to b0",
        "Reminder id",
    )
    .await;
    let refused = say_as(&s, "ann", "b", "remind me every 1 minute to b1", FULL).await;
    assert!(
        refused.contains("one user may have across conversations"),
        "{refused}"
    );
    // Someone else in that conversation is not held by Ann's cap.
    say_as(
        &s,
        "bob",
        "b",
        "remind me every 1 minute to b2",
        "Reminder id",
    )
    .await;

    // The webhook API meets the conversation's cap too.
    let key = ConversationKey::new("emulator", "a").unwrap().to_string();
    let (status, body) = s
        .client
        .post_raw(
            "/api/reminders",
            json!({"target": {"kind": "conversation", "key": key},
                   "when": "in 10 minutes", "text": "api"})
            .to_string(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("ReminderLimitReached")),
        "{body}"
    );
    s.host.stop().await;
}

#[tokio::test]
async fn unfinished_jobs_and_subscriptions_are_capped() {
    let s = setup("caps-jobs").await;
    let first = say_as(&s, "ann", "j", "run", "We're starting job").await;
    let first = first.split_whitespace().nth(3).unwrap().to_owned();
    say_as(&s, "ann", "j", "run", "We're starting job").await;
    let refused = say_as(&s, "ann", "j", "run", FULL).await;
    assert!(refused.contains("2 unfinished jobs"), "{refused}");
    say_as(&s, "ann", "j", &format!("done {first}"), "Completing job").await;
    s.channel
        .wait_for_text("j", &format!("Job {first} is complete."), WAIT)
        .await;
    say_as(&s, "ann", "j", "run", "We're starting job").await;
    // Ann's third unfinished job anywhere is her last.
    say_as(&s, "ann", "k", "run", "We're starting job").await;
    let refused = say_as(&s, "ann", "k", "run", FULL).await;
    assert!(refused.contains("one user may have"), "{refused}");

    say_as(&s, "ann", "t", "subscribe", "You're subscribed").await;
    say_as(&s, "ann", "t", "subscribe deploys", "You're subscribed to").await;
    let refused = say_as(&s, "ann", "t", "subscribe news", FULL).await;
    assert!(refused.contains("2 subscriptions"), "{refused}");
    say_as(&s, "ann", "t", "unsubscribe deploys", "You're unsubscribed").await;
    say_as(&s, "ann", "t", "subscribe news", "You're subscribed to").await;
    s.host.stop().await;
}

fn removal(client: &BotClient, conversation: &str) -> Value {
    let mut activity = client.message(conversation, "");
    activity["type"] = json!("installationUpdate");
    activity["action"] = json!("remove");
    activity
}

#[tokio::test]
async fn reminders_of_a_closed_conversation_are_parked_and_resume_when_it_writes_again() {
    let s = setup("caps-parked").await;
    say_as(
        &s,
        "ann",
        "p",
        "remind me in 3 seconds to ping",
        "Reminder id",
    )
    .await;
    assert_eq!(
        s.client.post_activity(&removal(&s.client, "p")).await.0,
        200
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !s.channel
            .texts("p")
            .iter()
            .any(|t| t.contains("Reminder: ping")),
        "nothing is sent to a conversation that removed the bot"
    );
    let key = ConversationKey::new("emulator", "p").unwrap();
    let parked = s.host.store().parked_reminders(&key, 10).await.unwrap();
    assert_eq!(parked.len(), 1, "the reminder waits, parked");
    let (queued, _) = s.host.queue().depth().await.unwrap();
    assert_eq!(queued, 0, "and nothing waits on the queue");

    // The user writes again: the reminder fires, late, once.
    say_as(&s, "ann", "p", "help", "what you can say").await;
    s.channel.wait_for_text("p", "Reminder: ping", WAIT).await;
    assert!(s
        .host
        .store()
        .parked_reminders(&key, 10)
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(s.channel.count_containing("p", "Reminder: ping"), 1);
    s.host.stop().await;
}
