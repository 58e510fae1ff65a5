//! `PATCH` and `DELETE /api/notifications/{id}` end to end on the local
//! host, signed, against a channel that enforces the Teams limits: a
//! broadcast to 1,000 conversations over five tenants is edited in place,
//! then recalled, with no 429, a final record per recipient of each change
//! (followed with `GET` like any notification), and the refusals with
//! their codes. Every answer is checked against `openapi.yaml`.

use std::time::Duration;

use jiff::Timestamp;
use nudge::ids::ConversationKey;
use nudge::service_url::Provenance;
use nudge::store::StoredReference;
use nudge_tests::api::ApiHarness;
use reqwest::Method;
use serde_json::{json, Value};

const RECIPIENTS: usize = 1000;
const TENANTS: usize = 5;

/// Polls `GET /api/notifications/{id}` until it is complete; the answer.
async fn until_complete(s: &ApiHarness, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let answer = s.api.get(&format!("/api/notifications/{id}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        if answer.body["complete"] == true {
            return answer.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} not complete: {}",
            answer.body["counts"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `PATCH /api/notifications/{id}` with `body`, signed.
async fn patch(s: &ApiHarness, id: &str, body: Value) -> nudge_tests::api::Answer {
    let path = format!("/api/notifications/{id}");
    s.api
        .request(Method::PATCH, &path, body.to_string(), &[])
        .await
}

/// Every delivery record of `id`, page by page: (conversation id, activity id, status).
async fn deliveries(s: &ApiHarness, id: &str) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(next) => format!("/api/notifications/{id}?limit=1000&after={next}"),
            None => format!("/api/notifications/{id}?limit=1000"),
        };
        let page = s.api.get(&path).await.body;
        for record in page["deliveries"].as_array().unwrap() {
            let key: ConversationKey = record["conversation"].as_str().unwrap().parse().unwrap();
            all.push((
                key.conversation_id().to_owned(),
                record["activityId"].as_str().unwrap_or_default().to_owned(),
                record["status"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_a_thousand_is_edited_in_place_then_recalled() {
    let s = ApiHarness::start("notification-edits").await;
    s.channel.enforce_teams_limits();
    let store = s.host.store();
    for n in 0..RECIPIENTS {
        let key = ConversationKey::new("msteams", &format!("edit-{n}")).unwrap();
        let mut reference =
            StoredReference::minimal(&key, s.channel.service_url(), Provenance::Verified);
        if let Some(conversation) = reference.reference.conversation.as_mut() {
            conversation.tenant_id = Some(format!("tenant-{}", n % TENANTS));
        }
        store.save_reference(&reference).await.unwrap();
        store
            .subscribe(&key, Some("release"), Timestamp::now())
            .await
            .unwrap();
    }
    let broadcast = s
        .api
        .post(
            "/api/notify",
            &json!({"target": {"kind": "subscribers", "tag": "release"}, "text": "v2.3 is live"}),
        )
        .await;
    assert_eq!(broadcast.status, 202, "{}", broadcast.body);
    let id = broadcast.body["notificationId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Too soon: most messages have no id yet.
    let early = patch(&s, &id, json!({"text": "x"})).await;
    assert_eq!(
        (early.status, early.code()),
        (409, "NotificationInProgress"),
        "{}",
        early.body
    );

    until_complete(&s, &id).await;
    let sent = deliveries(&s, &id).await;
    assert_eq!(sent.len(), RECIPIENTS);
    assert!(sent
        .iter()
        .all(|(_, activity, status)| status == "sent" && !activity.is_empty()));

    let edit = patch(
        &s,
        &id,
        json!({"text": "v2.3 is live: [notes](https://example.com/2.3)"}),
    )
    .await;
    assert_eq!(
        (edit.status, &edit.body["recipients"]),
        (202, &json!(RECIPIENTS)),
        "{}",
        edit.body
    );
    let edit_id = edit.body["notificationId"].as_str().unwrap().to_owned();
    let edited = until_complete(&s, &edit_id).await;
    assert_eq!(
        edited["target"],
        json!({"kind": "delivered", "of": id, "edit": "update"})
    );
    assert_eq!(edited["counts"]["sent"], RECIPIENTS);
    for (conversation, activity, _) in &sent {
        let shown = s
            .channel
            .shown(conversation, activity)
            .expect("still there");
        assert_eq!(
            shown.text.as_deref(),
            Some("v2.3 is live: [notes](https://example.com/2.3)"),
            "{conversation}"
        );
    }

    let once = [("idempotency-key", "recall-v2.3".to_owned())];
    let recall = s
        .api
        .request(
            Method::DELETE,
            &format!("/api/notifications/{id}"),
            String::new(),
            &once,
        )
        .await;
    assert_eq!(
        (recall.status, &recall.body["recipients"]),
        (202, &json!(RECIPIENTS)),
        "{}",
        recall.body
    );
    let again = s
        .api
        .request(
            Method::DELETE,
            &format!("/api/notifications/{id}"),
            String::new(),
            &once,
        )
        .await;
    assert!(
        again.replayed,
        "the retry gets the first answer: {} {}",
        again.status, again.body
    );
    assert_eq!(again.body, recall.body);
    let recall_id = recall.body["notificationId"].as_str().unwrap().to_owned();
    let recalled = until_complete(&s, &recall_id).await;
    assert_eq!(recalled["counts"]["sent"], RECIPIENTS);
    let records = deliveries(&s, &recall_id).await;
    assert_eq!(records.len(), RECIPIENTS, "a record per recipient");
    for (conversation, activity, _) in &sent {
        assert!(
            s.channel.shown(conversation, activity).is_none(),
            "{conversation}: recalled"
        );
        assert!(
            records
                .iter()
                .any(|(c, a, status)| c == conversation && a == activity && status == "sent"),
            "{conversation}: its recall is recorded"
        );
    }
    assert_eq!(
        s.channel.changes().len(),
        2 * RECIPIENTS,
        "each message changed twice, no more"
    );
    assert_eq!(
        s.channel.throttled(),
        0,
        "no 429: {:?}",
        s.channel.refusals()
    );
    s.host.stop().await;
}

#[tokio::test]
async fn bad_edits_are_refused_with_their_codes_and_change_nothing() {
    let s = ApiHarness::start("notification-edit-errors").await;
    let key = s.converse("edit-errors", "ann").await;
    let sent = s
        .api
        .post(
            "/api/notify",
            &json!({"target": {"kind": "conversation", "key": key}, "text": "hi"}),
        )
        .await;
    let id = sent.body["notificationId"].as_str().unwrap().to_owned();
    until_complete(&s, &id).await;
    let path = format!("/api/notifications/{id}");
    let cases: Vec<(Method, String, String, u16, &str)> = vec![
        (Method::PATCH, path.clone(), "{}".into(), 400, "NoContent"),
        (
            Method::PATCH,
            path.clone(),
            json!({"text": "x", "serviceUrl": "https://evil.example"}).to_string(),
            400,
            "InvalidBody",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({"text": " "}).to_string(),
            400,
            "InvalidText",
        ),
        (
            Method::PATCH,
            path.clone(),
            "{".into(),
            400,
            "MalformedJson",
        ),
        (
            Method::PATCH,
            "/api/notifications/n-nosuchnotification".into(),
            json!({"text": "x"}).to_string(),
            404,
            "NotificationNotFound",
        ),
        (
            Method::DELETE,
            "/api/notifications/n-nosuchnotification".into(),
            String::new(),
            404,
            "NotificationNotFound",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let answer = s
            .api
            .request(method.clone(), &path, body.clone(), &[])
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{method} {path} {body}: {}",
            answer.body
        );
    }
    assert!(s.channel.changes().is_empty(), "nothing changed");
    s.host.stop().await;
}
