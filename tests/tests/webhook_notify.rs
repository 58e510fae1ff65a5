//! `POST /api/notify` end to end, signed, on the in-process local host with
//! a fake channel: each target kind, Adaptive Cards, `notBefore`, every
//! error, and `Idempotency-Key` retries. Every answer is also checked
//! against `openapi.yaml` by the client.

use std::time::Duration;

use nudge::activity::ADAPTIVE_CARD_CONTENT_TYPE;
use nudge::api::idempotency;
use nudge::ids::ConversationKey;
use nudge::store::IdempotencyRecord;
use nudge_tests::api::{ApiHarness, SECRET, WAIT};
use reqwest::Method;
use serde_json::{json, Value};

/// Waits a moment for anything that should not arrive.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(600)).await;
}

/// How many messages with exactly `text` a conversation received.
fn times_received(s: &ApiHarness, conversation: &str, text: &str) -> usize {
    s.channel
        .texts(conversation)
        .iter()
        .filter(|t| *t == text)
        .count()
}

fn notify(target: Value, text: &str) -> Value {
    json!({"target": target, "text": text})
}

/// Asks nudge to send "never" to each target and checks it is refused with
/// that status and code.
async fn assert_refused(s: &ApiHarness, refusals: impl IntoIterator<Item = (Value, u16, &str)>) {
    for (target, status, code) in refusals {
        let answer = s
            .api
            .post("/api/notify", &notify(target.clone(), "never"))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{target}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn one_conversation_by_key_or_by_ids_gets_markdown_text() {
    let s = ApiHarness::start("notify-conversation").await;
    let key = s.converse("c1", "ann").await;
    let answer = s
        .api
        .post(
            "/api/notify",
            &notify(
                json!({"kind": "conversation", "key": key}),
                "Deploy **done**",
            ),
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body["recipients"]),
        (202, &json!(1))
    );
    let got = s.channel.wait_for_text("c1", "Deploy **done**", WAIT).await;
    assert!(got.is_proactive());
    assert_eq!(got.activity.text_format.as_deref(), Some("markdown"));
    assert_eq!(
        got.activity.recipient.as_ref().map(|r| r.id.as_str()),
        Some("ann")
    );

    let by_ids = json!({"kind": "conversation", "channelId": "emulator", "conversationId": "c1"});
    let answer = s.api.post("/api/notify", &notify(by_ids, "by ids")).await;
    assert_eq!(answer.status, 202);
    s.channel.wait_for_text("c1", "by ids", WAIT).await;

    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&id, WAIT).await;
    assert_eq!(status["counts"]["sent"], 1);
    assert_eq!(status["recipients"], 1);
    assert_eq!(status["target"]["kind"], "conversation");
    assert_eq!(status["deliveries"][0]["conversation"], key);
    s.host.stop().await;
}

#[tokio::test]
async fn a_user_is_reached_in_each_active_conversation_and_nowhere_else() {
    let s = ApiHarness::start("notify-user").await;
    let a1 = s.converse("a1", "ann").await;
    let a2 = s.converse("a2", "ann").await;
    let a3 = s.converse("a3", "ann").await;
    s.converse("b1", "bob").await;
    s.host
        .store()
        .deactivate_reference(&a3.parse::<ConversationKey>().unwrap(), "blocked")
        .await
        .unwrap();
    let target = json!({"kind": "user", "channelId": "emulator", "userId": "ann"});
    let answer = s.api.post("/api/notify", &notify(target, "for ann")).await;
    assert_eq!(
        (answer.status, &answer.body["recipients"]),
        (202, &json!(2))
    );
    s.channel.wait_for_text("a1", "for ann", WAIT).await;
    s.channel.wait_for_text("a2", "for ann", WAIT).await;
    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&id, WAIT).await;
    assert_eq!(status["counts"]["sent"], 2);
    assert_eq!(status["target"]["kind"], "user");
    let mut reached: Vec<&str> = status["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["conversation"].as_str().unwrap())
        .collect();
    reached.sort_unstable();
    assert_eq!(reached, [a1.as_str(), a2.as_str()]);
    settle().await;
    for elsewhere in ["a3", "b1"] {
        assert!(
            !s.channel.texts(elsewhere).iter().any(|t| t == "for ann"),
            "{elsewhere}"
        );
    }
    s.host.stop().await;
}

#[tokio::test]
async fn all_subscribers_or_a_tags_subscribers() {
    let s = ApiHarness::start("notify-subscribers").await;
    for (conversation, command) in [("s1", "subscribe"), ("s2", "subscribe deploys")] {
        s.client.say(conversation, command).await;
        s.channel
            .wait_for_text(conversation, "subscribed", WAIT)
            .await;
    }
    s.converse("quiet", "q").await;
    let tagged = json!({"kind": "subscribers", "tag": "DEPLOYS"});
    let answer = s.api.post("/api/notify", &notify(tagged, "tagged")).await;
    assert_eq!(
        (answer.status, &answer.body["recipients"]),
        (202, &json!(1))
    );
    s.channel.wait_for_text("s2", "tagged", WAIT).await;

    let everyone = json!({"kind": "subscribers"});
    let answer = s
        .api
        .post("/api/notify", &notify(everyone, "everyone"))
        .await;
    assert_eq!(
        (answer.status, &answer.body["recipients"]),
        (202, &json!(2))
    );
    s.channel.wait_for_text("s1", "everyone", WAIT).await;
    s.channel.wait_for_text("s2", "everyone", WAIT).await;
    let untargeted = s
        .api
        .post("/api/notify", &json!({"text": "old form"}))
        .await;
    assert_eq!(
        untargeted.body["recipients"], 2,
        "no target: every subscriber"
    );
    s.channel.wait_for_text("s1", "old form", WAIT).await;
    settle().await;
    assert!(!s.channel.texts("s1").iter().any(|t| t == "tagged"));
    assert!(s
        .channel
        .texts("quiet")
        .iter()
        .all(|t| !t.contains("everyone")));
    s.host.stop().await;
}

#[tokio::test]
async fn an_adaptive_card_arrives_as_an_attachment() {
    let s = ApiHarness::start("notify-card").await;
    let key = s.converse("cards", "ann").await;
    let card = json!({
        "type": "AdaptiveCard", "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Build 42 passed", "weight": "bolder"}],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://example.com/42"}]
    });
    let target = json!({"kind": "conversation", "key": key});
    for body in [
        json!({"target": target, "card": card}),
        json!({"target": target, "card": card, "text": "with text"}),
    ] {
        assert_eq!(s.api.post("/api/notify", &body).await.status, 202);
    }
    let with_card = |r: &nudge_tests::channel::Received| {
        r.activity.attachments.as_ref().is_some_and(|a| {
            a.len() == 1
                && a[0].content_type == ADAPTIVE_CARD_CONTENT_TYPE
                && a[0].content.as_ref() == Some(&card)
        })
    };
    let only = s
        .channel
        .wait_for("the card alone", WAIT, |r| {
            with_card(r) && r.activity.text.is_none()
        })
        .await;
    assert!(only.is_proactive());
    s.channel
        .wait_for("the card with text", WAIT, |r| {
            with_card(r) && r.text() == "with text"
        })
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn mentions_arrive_as_teams_mention_entities_with_their_tags_in_the_text() {
    let s = ApiHarness::start("notify-mentions").await;
    let key = s.converse("mentions", "ann").await;
    let object_id = "6f1c3a52-8b0e-4c1d-9a7e-2b3c4d5e6f70";
    let body = json!({
        "target": {"kind": "conversation", "key": key},
        "text": "Build 42 broke, <at>Ann Lee</at>: please look",
        "mentions": [
            {"id": "29:ann", "name": "Ann Lee"},
            {"aadObjectId": object_id, "name": "R&D"}
        ]
    });
    assert_eq!(s.api.post("/api/notify", &body).await.status, 202);
    let text = "<at>R&amp;D</at> Build 42 broke, <at>Ann Lee</at>: please look";
    let got = s.channel.wait_for_text("mentions", text, WAIT).await;
    let entities: Vec<Value> = got
        .activity
        .entities
        .iter()
        .flatten()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        entities,
        vec![
            json!({"type": "mention", "text": "<at>Ann Lee</at>", "mentioned": {"id": "29:ann", "name": "Ann Lee"}}),
            json!({"type": "mention", "text": "<at>R&amp;D</at>", "mentioned": {"id": object_id, "name": "R&D"}}),
        ]
    );
    s.host.stop().await;
}

#[tokio::test]
async fn not_before_holds_a_notification_back() {
    let s = ApiHarness::start("notify-later").await;
    let key = s.converse("later", "ann").await;
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let body = json!({
        "target": {"kind": "conversation", "key": key},
        "text": "not yet", "notBefore": at.to_string()
    });
    let answer = s.api.post("/api/notify", &body).await;
    assert_eq!(answer.status, 202);
    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let waiting = s.api.get(&format!("/api/notifications/{id}")).await;
    assert_eq!(waiting.body["complete"], false);
    assert_eq!(waiting.body["notBefore"], json!(at));
    s.channel.wait_for_text("later", "not yet", WAIT).await;
    assert!(
        jiff::Timestamp::now() >= at,
        "delivered no earlier than notBefore"
    );
    s.host.stop().await;
}

#[tokio::test]
async fn every_refusal_has_its_status_and_code_and_sends_nothing() {
    let s = ApiHarness::start("notify-errors").await;
    let key = s.converse("ok", "ann").await;
    let gone = s.converse("gone", "gus").await;
    s.host
        .store()
        .deactivate_reference(&gone.parse().unwrap(), "app uninstalled")
        .await
        .unwrap();
    let conversation = json!({"kind": "conversation", "key": key});
    let far = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(25)).to_string();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("malformed", "{".into(), 400, "MalformedJson"),
        ("not an object", "[1]".into(), 400, "InvalidBody"),
        ("unknown field", json!({"text": "x", "serviceUrl": "https://evil.example"}).to_string(), 400, "InvalidBody"),
        ("unknown target kind", json!({"target": {"kind": "team"}, "text": "x"}).to_string(), 400, "InvalidBody"),
        ("conversation without a name", json!({"target": {"kind": "conversation"}, "text": "x"}).to_string(), 400, "InvalidTarget"),
        ("key and ids", json!({"target": {"kind": "conversation", "key": key, "channelId": "emulator", "conversationId": "ok"}, "text": "x"}).to_string(), 400, "InvalidTarget"),
        ("bad key", json!({"target": {"kind": "conversation", "key": "no-separator"}, "text": "x"}).to_string(), 400, "InvalidTarget"),
        ("bad tag", json!({"target": {"kind": "subscribers", "tag": "no spaces"}, "text": "x"}).to_string(), 400, "InvalidTarget"),
        ("control character in a user id", json!({"target": {"kind": "user", "channelId": "emulator", "userId": "a\u{7}"}, "text": "x"}).to_string(), 400, "InvalidTarget"),
        ("blank text", json!({"target": conversation, "text": "  "}).to_string(), 400, "InvalidText"),
        ("long text", json!({"target": conversation, "text": "x".repeat(4001)}).to_string(), 400, "InvalidText"),
        ("card that is not an object", json!({"target": conversation, "card": "hi"}).to_string(), 400, "InvalidCard"),
        ("card of another type", json!({"target": conversation, "card": {"type": "HeroCard"}}).to_string(), 400, "InvalidCard"),
        ("card too large", json!({"target": conversation, "card": {"type": "AdaptiveCard", "body": "x".repeat(30_000)}}).to_string(), 400, "CardTooLarge"),
        ("nothing to say", json!({"target": conversation}).to_string(), 400, "NoContent"),
        ("mention without text", json!({"target": conversation, "card": {"type": "AdaptiveCard"}, "mentions": [{"id": "29:a", "name": "A"}]}).to_string(), 400, "InvalidMentions"),
        ("mention by two ids", json!({"target": conversation, "text": "x", "mentions": [{"id": "29:a", "aadObjectId": "6f1c3a52-8b0e-4c1d-9a7e-2b3c4d5e6f70", "name": "A"}]}).to_string(), 400, "InvalidMentions"),
        ("mention with an unknown field", json!({"target": conversation, "text": "x", "mentions": [{"upn": "a@example.com", "name": "A"}]}).to_string(), 400, "InvalidBody"),
        ("notBefore too far", json!({"target": conversation, "text": "x", "notBefore": far}).to_string(), 400, "NotBeforeTooFar"),
        ("notBefore not a time", json!({"target": conversation, "text": "x", "not_before": "tomorrow"}).to_string(), 400, "InvalidBody"),
        ("unknown conversation", json!({"target": {"kind": "conversation", "key": "emulator#nope"}, "text": "x"}).to_string(), 404, "ConversationNotFound"),
        ("unknown user", json!({"target": {"kind": "user", "channelId": "emulator", "userId": "nobody"}, "text": "x"}).to_string(), 404, "UserNotFound"),
        ("inactive conversation", json!({"target": {"kind": "conversation", "key": gone}, "text": "x"}).to_string(), 409, "ConversationInactive"),
        ("too large", "x".repeat(70 * 1024), 413, "PayloadTooLarge"),
    ];
    for (name, body, status, code) in cases {
        let answer = s.api.request(Method::POST, "/api/notify", body, &[]).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{name}: {}",
            answer.body
        );
    }
    let (status, body) = s
        .client
        .post_raw(
            "/api/notify",
            json!({"target": conversation, "text": "unsigned"}).to_string(),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("Unauthorized"))
    );
    settle().await;
    let sent: Vec<String> = s.channel.texts("ok");
    assert_eq!(sent.len(), 1, "only the help reply: {sent:?}");
    s.host.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer() {
    let s = ApiHarness::start("notify-idempotent").await;
    let key = s.converse("idem", "ann").await;
    let body = notify(json!({"kind": "conversation", "key": key}), "exactly once");
    let first = s.api.post_once("/api/notify", &body, "retry-1").await;
    assert_eq!((first.status, first.replayed), (202, false));
    let again = s.api.post_once("/api/notify", &body, "retry-1").await;
    assert_eq!((again.status, again.replayed), (202, true));
    assert_eq!(
        again.body, first.body,
        "the same answer, the same notification id"
    );
    s.channel.wait_for_text("idem", "exactly once", WAIT).await;

    let other = notify(json!({"kind": "conversation", "key": key}), "another call");
    let reused = s.api.post_once("/api/notify", &other, "retry-1").await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "IdempotencyKeyReused")
    );
    let elsewhere = s.api.post_once("/api/reminders", &body, "retry-1").await;
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (422, "IdempotencyKeyReused")
    );

    let missing = notify(json!({"kind": "conversation", "key": "emulator#nope"}), "x");
    let refused = s.api.post_once("/api/notify", &missing, "retry-2").await;
    assert_eq!(
        (refused.status, refused.code()),
        (404, "ConversationNotFound")
    );
    let refused_again = s.api.post_once("/api/notify", &missing, "retry-2").await;
    assert_eq!((refused_again.status, refused_again.replayed), (404, true));

    // (Each call below differs from the ones before: an identical signed
    // request within the same second would be a replay.)
    let bad_body = notify(json!({"kind": "conversation", "key": key}), "bad key");
    let bad = s.api.post_once("/api/notify", &bad_body, "has space").await;
    assert_eq!((bad.status, bad.code()), (400, "InvalidIdempotencyKey"));

    // A call still holding its key: the retry is told to wait.
    let held_body = notify(json!({"kind": "conversation", "key": key}), "held");
    let bytes = held_body.to_string();
    let now = jiff::Timestamp::now();
    let credential = nudge::auth::webhook::credential_id("secret", SECRET.as_bytes());
    let held = IdempotencyRecord {
        key: "held"
            .parse::<nudge::ids::IdempotencyKey>()
            .unwrap()
            .scoped(&credential),
        fingerprint: idempotency::fingerprint(&Method::POST, "/api/notify", bytes.as_bytes()),
        created_at: now,
        expires_at: now + jiff::SignedDuration::from_hours(1),
        lease_until: Some(now + jiff::SignedDuration::from_secs(60)),
        response: None,
    };
    s.host.store().put_idempotency_record(&held).await.unwrap();
    let busy = s.api.post_once("/api/notify", &held_body, "held").await;
    assert_eq!((busy.status, busy.code()), (409, "IdempotencyKeyInUse"));

    settle().await;
    assert_eq!(
        times_received(&s, "idem", "exactly once"),
        1,
        "two calls, one message"
    );
    s.host.stop().await;
}

/// The README's `nudge_call` block, exactly as written.
fn readme_helper() -> String {
    let readme = include_str!("../../README.md");
    readme
        .split("<!-- webhook-api-helper")
        .nth(1)
        .and_then(|after| after.split("```sh\n").nth(1))
        .and_then(|block| block.split("\n```").next())
        .expect("the README has the nudge_call block")
        .to_owned()
}

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn the_readme_helper_signs_any_call() {
    if !(have("openssl") && have("curl") && have("bash")) {
        eprintln!("openssl, curl or bash missing: the helper cannot run here");
        return;
    }
    let s = ApiHarness::start("notify-readme").await;
    let key = s.converse("readme", "ann").await;
    let body = notify(
        json!({"kind": "conversation", "key": key}),
        "from the README",
    );
    let script = format!(
        "{}\nnudge_call POST /api/notify '{body}' readme-1\necho\n\
         nudge_call POST /api/notify '{body}' readme-1\necho\n\
         nudge_call GET /api/conversations\n",
        readme_helper()
    );
    let output = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("NUDGE_URL", s.client.base_url())
        .env("NUDGE_WEBHOOK_SECRET", nudge_tests::api::SECRET)
        .output()
        .await
        .expect("run the helper");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("nudge answered JSON"))
        .collect();
    assert_eq!(answers[0]["recipients"], 1, "{answers:?}");
    assert_eq!(
        answers[1], answers[0],
        "the retry under the same key is replayed"
    );
    assert_eq!(answers[2]["conversations"][0]["key"], key);
    s.channel
        .wait_for_text("readme", "from the README", WAIT)
        .await;
    settle().await;
    assert_eq!(times_received(&s, "readme", "from the README"), 1);
    s.host.stop().await;
}

/// `channel` posts anew in a Teams channel and `thread` replies in one of
/// its threads, both from what nudge learned in that team (the install in
/// the General channel, a mention in another channel's thread), whether
/// or not it has seen that very conversation; a channel it knows nothing
/// of is a 404, a malformed target a 400, and neither sends anything.
#[tokio::test]
async fn channel_posts_and_thread_replies_reach_teams_channels() {
    let s = ApiHarness::start("notify-channels").await;
    let team = json!({"id": "19:general@thread.tacv2", "name": "Release team"});
    let in_team = |conversation: &str, channel: &str| {
        let mut activity = s.client.message(conversation, "help");
        activity["channelId"] = json!("msteams");
        activity["conversation"] =
            json!({"id": conversation, "conversationType": "channel", "tenantId": "tenant-1"});
        activity["channelData"] =
            json!({"team": team, "channel": {"id": channel}, "tenant": {"id": "tenant-1"}});
        activity
    };
    let mut install = in_team("19:general@thread.tacv2", "19:general@thread.tacv2");
    install["type"] = json!("installationUpdate");
    install["action"] = json!("add");
    assert_eq!(s.client.post_activity(&install).await.0, 200);
    let mention = in_team(
        "19:deploys@thread.tacv2;messageid=111",
        "19:deploys@thread.tacv2",
    );
    assert_eq!(s.client.post_activity(&mention).await.0, 200);

    let sends = [
        (
            json!({"kind": "channel", "channelId": "19:deploys@thread.tacv2"}),
            "a new post",
            "19:deploys@thread.tacv2",
        ),
        (
            json!({"kind": "thread", "channelId": "19:deploys@thread.tacv2", "messageId": "111"}),
            "in the thread",
            "19:deploys@thread.tacv2;messageid=111",
        ),
        (
            json!({"kind": "thread", "conversationId": "19:general@thread.tacv2;messageid=5"}),
            "in General's thread",
            "19:general@thread.tacv2;messageid=5",
        ),
        (
            json!({"kind": "channel", "channelId": "19:general@thread.tacv2"}),
            "a post in General",
            "19:general@thread.tacv2",
        ),
    ];
    for (target, text, _) in &sends {
        let answer = s
            .api
            .post("/api/notify", &notify(target.clone(), text))
            .await;
        assert_eq!(
            (answer.status, &answer.body["recipients"]),
            (202, &json!(1)),
            "{target}: {}",
            answer.body
        );
    }
    for (target, text, conversation) in sends {
        let got = s.channel.wait_for_text(conversation, text, WAIT).await;
        assert!(
            got.is_proactive(),
            "{target}: a new activity in {conversation}"
        );
    }

    let refusals = [
        (
            json!({"kind": "channel", "channelId": "19:elsewhere@thread.tacv2"}),
            404,
            "ChannelNotFound",
        ),
        (
            json!({"kind": "channel", "channelId": "19:deploys@thread.tacv2;messageid=111"}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "thread", "conversationId": "19:deploys@thread.tacv2"}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "thread", "channelId": "19:deploys@thread.tacv2"}),
            400,
            "InvalidTarget",
        ),
    ];
    assert_refused(&s, refusals).await;
    settle().await;
    assert!(s.channel.received().iter().all(|r| r.text() != "never"));
    s.host.stop().await;
}

/// Bob's Microsoft Entra object id.
const BOB: &str = "00000000-0000-0000-0000-00000000b0b0";

#[tokio::test]
async fn a_teams_user_who_never_wrote_is_reached_in_a_conversation_nudge_creates() {
    let s = ApiHarness::start("notify-member").await;
    s.channel.enforce_teams_limits();
    // Ann writes in a group chat of tenant-1: nudge learns where the
    // tenant's conversations live and the bot's id there.
    let mut hello = s.client.message("19:chat@thread.v2", "help");
    hello["channelId"] = json!("msteams");
    hello["conversation"] =
        json!({"id": "19:chat@thread.v2", "conversationType": "groupChat", "tenantId": "tenant-1"});
    hello["channelData"] = json!({"tenant": {"id": "tenant-1"}});
    assert_eq!(s.client.post_activity(&hello).await.0, 200);
    s.channel
        .wait_for_text("19:chat@thread.v2", "Here's what you can say", WAIT)
        .await;
    s.channel.install_for(BOB);
    s.channel.install_for("29:carol");

    let bob = json!({"kind": "user", "tenantId": "tenant-1", "aadObjectId": BOB});
    let conversation = format!("a:1:{BOB}");
    for text in ["Your build is ready", "And it passed"] {
        let answer = s.api.post("/api/notify", &notify(bob.clone(), text)).await;
        assert_eq!(
            (answer.status, &answer.body["recipients"]),
            (202, &json!(1)),
            "{}",
            answer.body
        );
        let got = s.channel.wait_for_text(&conversation, text, WAIT).await;
        assert!(got.is_proactive());
        let id = answer.body["notificationId"].as_str().unwrap().to_owned();
        let status = s.until_complete(&id, WAIT).await;
        assert_eq!(status["counts"]["sent"], 1, "{status}");
        assert_eq!(
            status["deliveries"][0]["conversation"],
            format!("msteams#{conversation}")
        );
    }
    let created = s.channel.created();
    assert_eq!(created.len(), 1, "the conversation is created once");
    assert_eq!(created[0].member_id, BOB);
    assert_eq!(created[0].tenant_id.as_deref(), Some("tenant-1"));

    // A batch: Bob (known), Carol (new), Dave (the app is not installed
    // for him), Bob again under the same id (counted once).
    let users = json!({"kind": "users", "tenantId": "tenant-1", "users": [
        {"aadObjectId": BOB}, {"userId": "29:carol"}, {"userId": "29:dave"}, {"aadObjectId": BOB},
    ]});
    let answer = s
        .api
        .post("/api/notify", &notify(users, "Standup in 5"))
        .await;
    assert_eq!(
        (answer.status, &answer.body["recipients"]),
        (202, &json!(3)),
        "{}",
        answer.body
    );
    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&id, WAIT).await;
    assert_eq!(
        (&status["counts"]["sent"], &status["counts"]["blocked"]),
        (&json!(2), &json!(1)),
        "{status}"
    );
    let blocked = status["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["status"] == "blocked")
        .expect("Dave's delivery");
    let why = blocked["lastError"].as_str().unwrap();
    assert!(
        why.contains("29:dave") && why.contains("ForbiddenOperationException"),
        "{why}"
    );
    s.channel
        .wait_for_text("a:1:29:carol", "Standup in 5", WAIT)
        .await;
    assert_eq!(times_received(&s, &conversation, "Standup in 5"), 1);
    assert_eq!(s.channel.created().len(), 2, "Carol's conversation is new");
    assert_eq!(s.channel.refusals(), Vec::<String>::new(), "no 429");

    let too_many: Vec<Value> = (0..251)
        .map(|n| json!({"userId": format!("29:u{n}")}))
        .collect();
    let refusals = [
        (
            json!({"kind": "user", "tenantId": "tenant-9", "aadObjectId": BOB}),
            404,
            "TenantNotFound",
        ),
        (
            json!({"kind": "users", "tenantId": "tenant-9", "users": [{"aadObjectId": BOB}]}),
            404,
            "TenantNotFound",
        ),
        (
            json!({"kind": "user", "tenantId": "tenant-1", "aadObjectId": "bob"}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "user", "tenantId": "tenant-1", "userId": BOB}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "user", "tenantId": "tenant-1", "aadObjectId": BOB, "userId": "29:bob"}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "user", "tenantId": "tenant-1", "channelId": "slack", "userId": "29:x"}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "users", "tenantId": "tenant-1", "users": []}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "users", "tenantId": "tenant-1", "users": too_many}),
            400,
            "InvalidTarget",
        ),
        (
            json!({"kind": "users", "tenantId": "tenant-1", "users": [{"aadObjectId": BOB, "x": 1}]}),
            400,
            "InvalidBody",
        ),
    ];
    assert_refused(&s, refusals).await;
    s.host.stop().await;
}

#[tokio::test]
async fn a_teams_channels_are_listed_at_install_and_followed() {
    let s = ApiHarness::start("notify-channel-events").await;
    let general = "19:general@thread.tacv2";
    let event = |kind: &str, event: Option<&str>, channel: (&str, Option<&str>)| {
        let mut activity = s.client.message(general, "");
        activity["type"] = json!(kind);
        activity.as_object_mut().unwrap().remove("text");
        activity["channelId"] = json!("msteams");
        activity["conversation"] =
            json!({"id": general, "conversationType": "channel", "tenantId": "tenant-1"});
        activity["channelData"] = json!({
            "team": {"id": general, "name": "Release team"},
            "channel": {"id": channel.0, "name": channel.1},
            "tenant": {"id": "tenant-1"},
            "eventType": event,
        });
        activity
    };
    // Installed in the team, nudge lists its channels at once.
    let ops = "19:ops@thread.tacv2";
    s.channel
        .set_team_channels(general, &[(general, None), (ops, Some("Ops"))]);
    let mut install = event("installationUpdate", None, (general, None));
    install["action"] = json!("add");
    assert_eq!(s.client.post_activity(&install).await.0, 200);
    let releases = "19:releases@thread.tacv2";
    let api = &s.api;
    let listed = |key: String| async move {
        let page = api.get("/api/conversations?limit=100").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} listed: {}", page.body))
    };

    let listed_ops = listed(format!("msteams#{ops}")).await;
    assert_eq!(
        (&listed_ops["channel"], &listed_ops["active"]),
        (&json!({"id": ops, "name": "Ops"}), &json!(true)),
        "{listed_ops}"
    );
    let answer = s
        .api
        .post(
            "/api/notify",
            &notify(json!({"kind": "channel", "channelId": ops}), "ops first"),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    s.channel.wait_for_text(ops, "ops first", WAIT).await;

    let created = event(
        "conversationUpdate",
        Some("channelCreated"),
        (releases, Some("Releases")),
    );
    assert_eq!(s.client.post_activity(&created).await.0, 200);
    let channel = listed(format!("msteams#{releases}")).await;
    assert_eq!(
        (&channel["team"], &channel["channel"], &channel["active"]),
        (
            &json!({"id": general, "name": "Release team"}),
            &json!({"id": releases, "name": "Releases"}),
            &json!(true)
        ),
        "{channel}"
    );
    let team = listed(format!("msteams#{general}")).await;
    assert_eq!(
        team["channel"],
        json!({"id": general, "name": null}),
        "the team's own conversation keeps its channel: {team}"
    );

    let post = json!({"kind": "channel", "channelId": releases});
    let answer = s
        .api
        .post("/api/notify", &notify(post.clone(), "v2 shipped"))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let got = s.channel.wait_for_text(releases, "v2 shipped", WAIT).await;
    assert!(got.is_proactive());

    let renamed = event(
        "conversationUpdate",
        Some("channelRenamed"),
        (releases, Some("Shipped")),
    );
    assert_eq!(s.client.post_activity(&renamed).await.0, 200);
    let channel = listed(format!("msteams#{releases}")).await;
    assert_eq!(channel["channel"]["name"], "Shipped", "{channel}");

    let deleted = event(
        "conversationUpdate",
        Some("channelDeleted"),
        (releases, Some("Shipped")),
    );
    assert_eq!(s.client.post_activity(&deleted).await.0, 200);
    let channel = listed(format!("msteams#{releases}")).await;
    assert_eq!(
        (&channel["active"], &channel["inactiveReason"]),
        (&json!(false), &json!("channel deleted")),
        "{channel}"
    );
    let answer = s.api.post("/api/notify", &notify(post, "never")).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "ConversationInactive"),
        "{}",
        answer.body
    );
    s.host.stop().await;
}
