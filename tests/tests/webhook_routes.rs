//! The webhook API's other routes end to end, signed, on the in-process
//! local host: completing jobs, setting reminders, reading a
//! notification's progress, and listing conversations, with each route's
//! errors. Every answer is also checked against `openapi.yaml`.

use std::time::Duration;

use nudge::ids::ConversationKey;
use nudge::store::ReminderStatus;
use nudge_tests::api::{ApiHarness, WAIT};
use reqwest::Method;
use serde_json::{json, Value};

/// The job id in "We're starting job <id> ...".
async fn start_job(s: &ApiHarness, conversation: &str) -> String {
    s.client.say(conversation, "run").await;
    let started = s
        .channel
        .wait_for_text(conversation, "We're starting job", WAIT)
        .await;
    started
        .text()
        .split("job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the reply names the job")
        .to_owned()
}

#[tokio::test]
async fn completing_a_job_tells_its_owner_once() {
    let s = ApiHarness::start("api-jobs").await;
    let job = start_job(&s, "owner").await;
    let path = format!("/api/jobs/{job}/complete");
    let answer = s
        .api
        .post(&path, &json!({"result": "all 42 tests green"}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"jobId": job, "status": "completing", "owner": "emulator#owner",
               "notificationId": format!("job-{job}-complete")})
    );
    let notice = s
        .channel
        .wait_for_text("owner", &format!("Job {job} is complete."), WAIT)
        .await;
    assert!(
        notice.text().ends_with("\n\nall 42 tests green"),
        "{}",
        notice.text()
    );
    let status = s.until_complete(&format!("job-{job}-complete"), WAIT).await;
    assert_eq!(
        (&status["counts"]["sent"], &status["target"]),
        (&json!(1), &Value::Null)
    );

    let again = s.api.request(Method::POST, &path, String::new(), &[]).await;
    assert_eq!((again.status, again.code()), (409, "JobAlreadyComplete"));
    for (path, body, status, code) in [
        ("/api/jobs/zzzzzzzz/complete", "", 404, "JobNotFound"),
        ("/api/jobs/not-a-job/complete", "", 404, "JobNotFound"),
        (path.as_str(), r#"{"result": ""}"#, 400, "InvalidText"),
        (path.as_str(), r#"{"outcome": "x"}"#, 400, "InvalidBody"),
    ] {
        let answer = s.api.request(Method::POST, path, body.into(), &[]).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{path} {body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let notices = s
        .channel
        .texts("owner")
        .iter()
        .filter(|t| t.contains("is complete."))
        .count();
    assert_eq!(notices, 1);
    s.host.stop().await;
}

#[tokio::test]
async fn a_retried_completion_with_its_idempotency_key_is_not_a_conflict() {
    let s = ApiHarness::start("api-jobs-retry").await;
    let job = start_job(&s, "owner").await;
    let path = format!("/api/jobs/{job}/complete");
    let first = s.api.post_once(&path, &json!({}), "complete-once").await;
    let retry = s.api.post_once(&path, &json!({}), "complete-once").await;
    assert_eq!(
        (first.status, retry.status, retry.replayed),
        (202, 202, true)
    );
    assert_eq!(first.body, retry.body);
    s.channel
        .wait_for_text("owner", &format!("Job {job} is complete."), WAIT)
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn a_reminder_set_through_the_api_fires_like_one_set_in_chat() {
    let s = ApiHarness::start_with(
        "api-reminder",
        &[("NUDGE_TICK_SECONDS", "1".into())],
        |_| {},
    )
    .await;
    let key = s.converse("rem", "ann").await;
    let body = json!({
        "target": {"kind": "conversation", "key": key},
        "when": "in 2 seconds", "text": "stretch"
    });
    let answer = s.api.post("/api/reminders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["conversation"], key);
    assert_eq!(answer.body["recurrence"], json!({"kind": "once"}));
    assert_eq!(answer.body["repeats"], "once");
    s.channel
        .wait_for_text("rem", "Reminder: stretch", WAIT)
        .await;
    let id = answer.body["reminderId"].as_str().unwrap().parse().unwrap();
    let stored = s.host.store().get_reminder(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, ReminderStatus::Done);
    s.host.stop().await;
}

#[tokio::test]
async fn a_users_reminder_lives_where_they_were_last_seen_in_their_zone() {
    let s = ApiHarness::start("api-reminder-user").await;
    s.converse("first", "ann").await;
    let latest = s.converse("latest", "ann").await;
    let body = json!({
        "target": {"kind": "user", "channelId": "emulator", "userId": "ann"},
        "when": "every weekday at 8:30", "text": "check the build",
        "timeZone": "Europe/Berlin"
    });
    let answer = s.api.post("/api/reminders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["conversation"], latest);
    assert_eq!(answer.body["timeZone"], "Europe/Berlin");
    assert_eq!(answer.body["recurrence"]["kind"], "weekdays");
    assert_eq!(
        answer.body["repeats"],
        "every weekday (Monday to Friday) at 08:30"
    );
    s.client.say("latest", "reminders").await;
    s.channel
        .wait_for_text("latest", "check the build", WAIT)
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn reminder_refusals_have_their_codes_and_store_nothing() {
    let s = ApiHarness::start("api-reminder-errors").await;
    let key = s.converse("rem", "ann").await;
    let gone = s.converse("gone", "gus").await;
    s.host
        .store()
        .deactivate_reference(&gone.parse().unwrap(), "blocked")
        .await
        .unwrap();
    let conversation = json!({"kind": "conversation", "key": key});
    let with = |target: &Value, when: &str, text: &str| {
        json!({"target": target, "when": when, "text": text}).to_string()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not understood", with(&conversation, "soon", "x"), 400, "InvalidWhen"),
        ("text smuggled into when", with(&conversation, "in 1 hour to x", "y"), 400, "InvalidWhen"),
        ("zero delay", with(&conversation, "in 0 seconds", "x"), 400, "ReminderRefused"),
        ("too often", with(&conversation, "every 30 seconds", "x"), 400, "ReminderRefused"),
        ("too far", with(&conversation, "in 400 days", "x"), 400, "ReminderRefused"),
        ("past", with(&conversation, "on 2020-01-01 at 9:00", "x"), 400, "ReminderRefused"),
        ("no text", with(&conversation, "in 1 hour", " "), 400, "InvalidText"),
        ("text too long", with(&conversation, "in 1 hour", &"x".repeat(501)), 400, "InvalidText"),
        ("bad zone", json!({"target": conversation, "when": "in 1 hour", "text": "x", "timeZone": "Mars/Olympus"}).to_string(), 400, "InvalidTimeZone"),
        ("subscribers", with(&json!({"kind": "subscribers"}), "in 1 hour", "x"), 400, "InvalidTarget"),
        ("missing when", json!({"target": conversation, "text": "x"}).to_string(), 400, "InvalidBody"),
        ("empty", String::new(), 400, "EmptyBody"),
        ("unknown conversation", with(&json!({"kind": "conversation", "key": "emulator#nope"}), "in 1 hour", "x"), 404, "ConversationNotFound"),
        ("unknown user", with(&json!({"kind": "user", "channelId": "emulator", "userId": "nobody"}), "in 1 hour", "x"), 404, "UserNotFound"),
        ("inactive", with(&json!({"kind": "conversation", "key": gone}), "in 1 hour", "x"), 409, "ConversationInactive"),
    ];
    for (name, body, status, code) in cases {
        let answer = s
            .api
            .request(Method::POST, "/api/reminders", body, &[])
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{name}: {}",
            answer.body
        );
    }
    let owner: ConversationKey = key.parse().unwrap();
    let stored = s.host.store().list_reminders(&owner, 10).await.unwrap();
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
    s.host.stop().await;
}

#[tokio::test]
async fn a_fan_outs_progress_is_read_a_page_at_a_time() {
    let s = ApiHarness::start("api-progress").await;
    for conversation in ["p1", "p2", "p3"] {
        s.converse(conversation, "pat").await;
    }
    let target = json!({"kind": "user", "channelId": "emulator", "userId": "pat"});
    let answer = s
        .api
        .post("/api/notify", &json!({"target": target, "text": "hi pat"}))
        .await;
    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&id, WAIT).await;
    assert_eq!(
        status["counts"],
        json!({"pending": 0, "sent": 3, "retrying": 0, "failed": 0, "blocked": 0})
    );
    assert!(status["acceptedAt"].is_string());

    let first = s.api.get(&format!("/api/notifications/{id}?limit=2")).await;
    assert_eq!(first.body["deliveries"].as_array().unwrap().len(), 2);
    let next = first.body["next"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = s
        .api
        .get(&format!("/api/notifications/{id}?limit=2&after={next}"))
        .await;
    assert_eq!(second.body["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["next"], Value::Null);
    let mut seen: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|a| a.body["deliveries"].as_array().unwrap().clone())
        .map(|d| d["conversation"].clone())
        .collect();
    seen.sort_by_key(ToString::to_string);
    assert_eq!(
        seen,
        [
            json!("emulator#p1"),
            json!("emulator#p2"),
            json!("emulator#p3")
        ]
    );

    for (query, status, code) in [
        ("/api/notifications/n-unknown", 404, "NotificationNotFound"),
        (
            "/api/notifications/has%20space",
            404,
            "NotificationNotFound",
        ),
        (
            &format!("/api/notifications/{id}?limit=0") as &str,
            400,
            "InvalidQuery",
        ),
        (
            &format!("/api/notifications/{id}?limit=many"),
            400,
            "InvalidQuery",
        ),
        (
            &format!("/api/notifications/{id}?page=2"),
            400,
            "InvalidQuery",
        ),
        (
            &format!("/api/notifications/{id}?after=has%20space"),
            400,
            "InvalidQuery",
        ),
    ] {
        let answer = s.api.get(query).await;
        assert_eq!((answer.status, answer.code()), (status, code), "{query}");
    }
    s.host.stop().await;
}

#[tokio::test]
async fn conversations_are_listed_in_key_order_with_their_state() {
    let s = ApiHarness::start("api-conversations").await;
    for (conversation, user) in [("k3", "cy"), ("k1", "al"), ("k2", "bo")] {
        s.converse(conversation, user).await;
    }
    s.host
        .store()
        .deactivate_reference(&"emulator#k2".parse().unwrap(), "blocked")
        .await
        .unwrap();
    let first = s.api.get("/api/conversations?limit=2").await;
    assert_eq!(first.status, 200);
    let listed = first.body["conversations"].as_array().unwrap();
    assert_eq!(listed[0]["key"], "emulator#k1");
    assert_eq!(
        (
            &listed[1]["userId"],
            &listed[1]["active"],
            &listed[1]["inactiveReason"]
        ),
        (&json!("bo"), &json!(false), &json!("blocked"))
    );
    assert_eq!(first.body["next"], "emulator#k2");
    let rest = s.api.get("/api/conversations?after=emulator%23k2").await;
    let rest = rest.body["conversations"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (&rest[0]["key"], &rest[0]["active"]),
        (&json!("emulator#k3"), &json!(true))
    );
    for query in [
        "?after=no-separator",
        "?limit=1001",
        "?limit=-1",
        "?sort=key",
    ] {
        let answer = s.api.get(&format!("/api/conversations{query}")).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "InvalidQuery"),
            "{query}"
        );
    }
    let (status, _) = s.client.get("/api/conversations").await;
    assert_eq!(status, 401, "unsigned");
    s.host.stop().await;
}

/// A conversation in a Teams team's channel is listed with its team and
/// channel: the names from the install event, kept when later messages
/// carry ids only; other conversations list none.
#[tokio::test]
async fn team_channels_are_listed_with_their_team_and_channel_names() {
    let s = ApiHarness::start("routes-team-channels").await;
    let channel_data = |names: bool| {
        let named = |id: &str, name: &str| {
            if names {
                json!({"id": id, "name": name})
            } else {
                json!({"id": id})
            }
        };
        json!({
            "team": named("19:team@thread.tacv2", "Release team"),
            "channel": named("19:deploys@thread.tacv2", "Deploys"),
            "tenant": {"id": "tenant-1"}
        })
    };
    let conversation = "19:deploys@thread.tacv2";
    let mut install = s.client.message(conversation, "");
    install["type"] = json!("installationUpdate");
    install["action"] = json!("add");
    install["channelData"] = channel_data(true);
    assert_eq!(s.client.post_activity(&install).await.0, 200);
    let mut message = s.client.message(conversation, "help");
    message["channelData"] = channel_data(false);
    assert_eq!(s.client.post_activity(&message).await.0, 200);
    s.converse("personal", "ann").await;

    let listed = s.api.get("/api/conversations").await;
    assert_eq!(listed.status, 200);
    let by_id = |id: &str| {
        listed.body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["conversationId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {}", listed.body))
    };
    let in_team = by_id(conversation);
    assert_eq!(
        (&in_team["team"], &in_team["channel"]),
        (
            &json!({"id": "19:team@thread.tacv2", "name": "Release team"}),
            &json!({"id": "19:deploys@thread.tacv2", "name": "Deploys"})
        ),
        "{in_team}"
    );
    let personal = by_id("personal");
    assert_eq!(
        (&personal["team"], &personal["channel"]),
        (&Value::Null, &Value::Null)
    );
    s.host.stop().await;
}
