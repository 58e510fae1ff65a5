//! End to end on the embedded local host: the real router, bot, notifier
//! loop, SQLite store and queue, talking HTTP to a real fake channel.

use std::time::Duration;

use nudge::activity::Activity;
use nudge::bot::replies;
use nudge::ids::ConversationKey;
use nudge::notification::{enqueue, Notification, Reason};
use nudge::store::DeliveryStatus;
use nudge_tests::client::BOT_ID;
use nudge_tests::host::{final_delivery, Harness as Setup};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// The job id in "We're starting job <id> ...".
fn job_id_in(text: &str) -> String {
    text.split("job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("reply names a job")
        .to_owned()
}

#[tokio::test]
async fn a_job_started_in_one_conversation_completes_from_another() {
    let s = Setup::start("two-conversations").await;
    assert_eq!(s.client.say("alpha", "run").await, 200);
    let started = s
        .channel
        .wait_for_text("alpha", "We're starting job", WAIT)
        .await;
    assert!(started
        .text()
        .ends_with("We'll notify you when it's complete."));
    let job = job_id_in(started.text());
    let first = &s.channel.in_conversation("alpha")[0];
    assert!(first.activity.is("typing"), "typing comes first");

    assert_eq!(s.client.say("beta", "show").await, 200);
    let log = s.channel.wait_for_text("beta", &job, WAIT).await;
    assert!(log.text().contains("emulator#alpha") && log.text().contains("running"));

    assert_eq!(s.client.say("beta", &format!("done {job}")).await, 200);
    s.channel
        .wait_for_text("beta", &format!("Completing job {job}."), WAIT)
        .await;
    let notice = s
        .channel
        .wait_for_text("alpha", &format!("Job {job} is complete."), WAIT)
        .await;
    assert!(notice.is_proactive(), "sent as a new activity, not a reply");
    assert_eq!(notice.activity.from.as_ref().unwrap().id, BOT_ID);
    assert_eq!(notice.activity.recipient.as_ref().unwrap().id, "user-alpha");
    assert_eq!(notice.activity.channel_id.as_deref(), Some("emulator"));
    assert_eq!(
        notice.activity.service_url.as_deref(),
        Some(s.channel.service_url())
    );
    assert!(
        !s.channel
            .texts("beta")
            .iter()
            .any(|t| t.contains("is complete.")),
        "the completion goes to the owner, not to who typed done"
    );
    // The announcement is edited in place too: the same activity now
    // says the job is complete.
    let edited = s
        .channel
        .wait_for_update(
            "alpha",
            &format!("We ran job {job} for you: it is complete."),
            WAIT,
        )
        .await;
    // The fake channel numbers every activity it receives, from 1.
    let announcement = s
        .channel
        .received()
        .iter()
        .position(|r| r.conversation_id == "alpha" && r.text().contains("We're starting job"))
        .expect("the announcement was sent");
    assert_eq!(
        edited.activity_id,
        format!("activity-{}", announcement + 1),
        "the announcement itself is edited"
    );

    assert_eq!(s.client.say("beta", "show jobs").await, 200);
    s.channel.wait_for_text("beta", "complete", WAIT).await;
    assert_eq!(s.client.say("beta", &format!("done {job}")).await, 200);
    s.channel
        .wait_for_text("beta", &format!("Job {job} is already complete."), WAIT)
        .await;
    assert_eq!(s.channel.count_containing("alpha", "is complete."), 1);
    s.host.stop().await;
}

#[tokio::test]
async fn done_explains_each_way_it_can_go_wrong() {
    let s = Setup::start("done-errors").await;
    assert_eq!(s.client.say("c", "show").await, 200);
    s.channel
        .wait_for_text("c", replies::JOB_LOG_EMPTY, WAIT)
        .await;
    for (said, expected) in [
        ("done", "Which job?"),
        ("done 42", "`42` is not a job id"),
        ("done zzzzzzzz", "There is no job zzzzzzzz."),
        ("run 0", "`run` takes a number of seconds from 1 to 900"),
    ] {
        assert_eq!(s.client.say("c", said).await, 200);
        s.channel.wait_for_text("c", expected, WAIT).await;
    }
    s.host.stop().await;
}

#[tokio::test]
async fn a_timed_job_completes_by_itself_once() {
    let s = Setup::start("timed-job").await;
    assert_eq!(s.client.say("timed", "run 1").await, 200);
    let started = s
        .channel
        .wait_for_text("timed", "completes by itself in 1 second", WAIT)
        .await;
    let job = job_id_in(started.text());
    s.channel
        .wait_for_text("timed", &format!("Job {job} is complete."), WAIT)
        .await;
    // A `done` after the fact is refused, and nothing is sent twice.
    assert_eq!(s.client.say("timed", &format!("done {job}")).await, 200);
    s.channel
        .wait_for_text("timed", "already complete", WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.channel.count_containing("timed", "is complete."), 1);
    s.host.stop().await;
}

#[tokio::test]
async fn a_job_complete_event_completes_the_job() {
    let s = Setup::start("job-event").await;
    s.client.say("owner", "run job").await;
    let job = job_id_in(
        s.channel
            .wait_for_text("owner", "We're starting job", WAIT)
            .await
            .text(),
    );
    let mut event = s.client.message("robot", "");
    event["type"] = json!("event");
    event["name"] = json!("jobCompleted");
    event["value"] = json!(job);
    assert_eq!(s.client.post_activity(&event).await.0, 200);
    s.channel
        .wait_for_text("owner", &format!("Job {job} is complete."), WAIT)
        .await;
    assert!(s.channel.texts("robot").is_empty(), "events get no reply");
    s.host.stop().await;
}

#[tokio::test]
async fn subscribers_are_told_and_receive_broadcasts() {
    let s = Setup::start("subscribe").await;
    assert_eq!(s.client.get("/api/notify").await.1["recipients"], 0);

    s.client.say("sub", "subscribe").await;
    s.channel
        .wait_for_text("sub", "You're subscribed", WAIT)
        .await;
    let notice = s
        .channel
        .wait_for_text("sub", replies::SUBSCRIBED_NOTICE, WAIT)
        .await;
    assert!(notice.is_proactive());
    s.client.say("sub", "subscribe").await;
    s.channel
        .wait_for_text("sub", "already subscribed", WAIT)
        .await;
    s.client.say("other", "subscribe").await;
    s.client.say("quiet", "hello").await;
    s.channel
        .wait_for_text("quiet", "Here's what you can say", WAIT)
        .await;

    let (status, body) = s.client.get("/api/notify").await;
    assert_eq!(status, 202);
    assert_eq!(body["recipients"], 2);
    assert!(body["notificationId"].is_string());
    s.channel
        .wait_for_text("sub", replies::DEFAULT_BROADCAST, WAIT)
        .await;
    s.channel
        .wait_for_text("other", replies::DEFAULT_BROADCAST, WAIT)
        .await;

    s.client.say("other", "unsubscribe").await;
    s.channel
        .wait_for_text("other", "You're unsubscribed", WAIT)
        .await;
    let (status, body) = s
        .client
        .post_raw("/api/notify", json!({"text": "second wave"}).to_string())
        .await;
    assert_eq!((status, body["recipients"].clone()), (202, json!(1)));
    s.channel.wait_for_text("sub", "second wave", WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!s.channel.texts("other").iter().any(|t| t == "second wave"));
    assert!(!s
        .channel
        .texts("quiet")
        .iter()
        .any(|t| t.contains("proactive hello")));
    s.host.stop().await;
}

#[tokio::test]
async fn new_members_are_welcomed_but_the_bot_is_not() {
    let s = Setup::start("welcome").await;
    let mut update = s.client.message("room", "");
    update["type"] = json!("conversationUpdate");
    update["membersAdded"] = json!([{"id": BOT_ID, "name": "nudge"}, {"id": "u-9", "name": "Bea"}]);
    assert_eq!(s.client.post_activity(&update).await.0, 200);
    let welcome = s.channel.wait_for_text("room", "Welcome, Bea!", WAIT).await;
    for command in [
        "`run`",
        "`show`",
        "`done` and a job's id",
        "`subscribe`",
        "`help`",
    ] {
        assert!(welcome.text().contains(command), "welcome lists {command}");
    }
    update["membersAdded"] = json!([{"id": BOT_ID}]);
    assert_eq!(s.client.post_activity(&update).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.channel.texts("room").len(), 1, "one welcome, for Bea");
    s.host.stop().await;
}

#[tokio::test]
async fn expect_replies_returns_the_replies_in_the_response() {
    let s = Setup::start("expect-replies").await;
    let mut message = s.client.message("inline", "help");
    message["deliveryMode"] = json!("expectReplies");
    let (status, body) = s.client.post_activity(&message).await;
    assert_eq!(status, 200);
    assert!(body["activities"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Here's what you can say"));
    assert_eq!(body["activities"][0]["replyToId"], message["id"]);
    // A reply nudge records (a job's announcement) goes without the id it
    // is recorded under.
    let mut run = s.client.message("inline", "run");
    run["deliveryMode"] = json!("expectReplies");
    let (status, body) = s.client.post_activity(&run).await;
    assert_eq!(status, 200);
    let announcement = &body["activities"][1];
    assert!(announcement["text"]
        .as_str()
        .unwrap()
        .contains("We're starting job"));
    assert_eq!(announcement["id"], json!(null), "{announcement}");
    assert!(s.channel.received().is_empty());
    s.host.stop().await;
}

#[tokio::test]
async fn a_teams_channel_mention_is_not_part_of_the_command() {
    let s = Setup::start("mention").await;
    s.client.say("team", "<at>nudge</at> run").await;
    s.channel
        .wait_for_text("team", "We're starting job", WAIT)
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_and_stores_nothing() {
    let s = Setup::start("bad-input").await;
    let (status, body) = s.client.post_raw("/api/messages", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "MalformedJson");

    let (status, body) = s
        .client
        .post_raw("/api/messages", "x".repeat(300 * 1024))
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "PayloadTooLarge");

    let (status, body) = s.client.post_raw("/api/messages", "").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("EmptyBody"))
    );

    let (status, body) = s.client.post_raw("/api/messages", "[1,2]").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("InvalidBody"))
    );

    for missing in ["type", "serviceUrl", "conversation", "channelId"] {
        let mut activity = s.client.message("bad", "subscribe");
        activity.as_object_mut().unwrap().remove(missing);
        let (status, body) = s.client.post_activity(&activity).await;
        assert_eq!(status, 400, "without {missing}");
        assert_eq!(body["error"]["code"], "InvalidActivity");
        assert!(body["error"]["message"].as_str().unwrap().contains(missing));
    }
    let mut wrong_type = s.client.message("bad", "subscribe");
    wrong_type["conversation"] = json!("not an object");
    assert_eq!(s.client.post_activity(&wrong_type).await.0, 400);
    let mut bad_url = s.client.message("bad", "subscribe");
    bad_url["serviceUrl"] = json!("file:///etc/passwd");
    assert_eq!(s.client.post_activity(&bad_url).await.0, 400);
    let mut control = s.client.message("bad\u{7}", "subscribe");
    control["conversation"]["id"] = json!("bad\u{0}id");
    assert_eq!(s.client.post_activity(&control).await.0, 400);

    // Nothing above was stored: no subscriber, no reply.
    assert_eq!(s.client.get("/api/notify").await.1["recipients"], 0);
    assert!(s.channel.received().is_empty());

    let mut unknown = s.client.message("bad", "");
    unknown["type"] = json!("messageReaction");
    assert_eq!(s.client.post_activity(&unknown).await.0, 200);

    assert_eq!(s.client.get("/api/messages").await.0, 405);
    let (status, body) = s.client.get("/nowhere").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("NotFound"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.channel.received().is_empty());
    s.host.stop().await;
}

#[tokio::test]
async fn a_notification_for_an_unknown_conversation_fails_once_and_is_not_retried() {
    let s = Setup::start("unknown-conversation").await;
    let key = ConversationKey::new("emulator", "never-seen").unwrap();
    let notification =
        Notification::to_conversation(key, Activity::message("hello?"), Reason::Broadcast);
    enqueue(s.host.queue(), std::slice::from_ref(&notification))
        .await
        .unwrap();
    let record = final_delivery(&s.host, &notification.id, WAIT).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.last_error.as_deref(), Some("conversation not found"));
    let (visible, in_flight) = s.host.queue().depth().await.unwrap();
    assert_eq!((visible, in_flight), (0, 0), "the message is gone");
    assert!(s.channel.received().is_empty());
    s.host.stop().await;
}
