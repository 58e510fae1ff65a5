//! Webhook authentication end to end, on `/api/notify` of a local host with
//! two signing secrets (mid-rotation) and an API key: what is accepted, what
//! is refused, and the README's signing recipe run exactly as written.

use std::time::Duration;

use nudge::auth::webhook::signature::{sign, Signed, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::host::{base_url, settings_with, start_in_process, DataDir};
use nudge_tests::openid::now_plus;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);
const OLD_SECRET: &str = "old-webhook-secret-0123456789";
const NEW_SECRET: &str = "new-webhook-secret-9876543210";
const API_KEY: &str = "webhook-api-key-abcdefghijkl";

struct Setup {
    channel: FakeChannel,
    client: BotClient,
    host: nudge::local::LocalHost,
    _data: DataDir,
}

/// A host with webhook credentials and one subscribed conversation, `sub`.
async fn setup(name: &str) -> Setup {
    let data = DataDir::new(name);
    let channel = FakeChannel::start().await;
    let env = [
        (
            "NUDGE_WEBHOOK_SECRETS",
            format!("{OLD_SECRET},{NEW_SECRET}"),
        ),
        ("NUDGE_WEBHOOK_API_KEYS", API_KEY.to_owned()),
    ];
    let host = start_in_process(&settings_with(data.path(), &env)).await;
    let client = BotClient::new(base_url(&host), channel.service_url());
    client.say("sub", "subscribe").await;
    channel
        .wait_for_text("sub", "You're subscribed", WAIT)
        .await;
    Setup {
        channel,
        client,
        host,
        _data: data,
    }
}

/// Request headers, as names and values.
type Headers = Vec<(&'static str, String)>;

/// Headers signing `body` for `POST /api/notify`, where these tests send it.
fn signed_headers(secret: &str, timestamp: &str, body: &str) -> Headers {
    signed_for(secret, timestamp, "POST", "/api/notify", body)
}

/// Headers signing `body` for `method` and the request target `target`.
fn signed_for(secret: &str, timestamp: &str, method: &str, target: &str, body: &str) -> Headers {
    let request = Signed {
        timestamp,
        method,
        target,
        body: body.as_bytes(),
    };
    vec![
        (TIMESTAMP_HEADER, timestamp.to_owned()),
        (SIGNATURE_HEADER, sign(secret.as_bytes(), &request)),
    ]
}

fn broadcast(text: &str) -> String {
    json!({ "text": text }).to_string()
}

fn unauthorized() -> Value {
    json!({"error": {"code": "Unauthorized", "message": "missing or invalid credentials"}})
}

#[tokio::test]
async fn requests_signed_with_either_active_secret_or_bearing_the_api_key_are_accepted() {
    let s = setup("webhook-valid").await;
    let now = now_plus(0).to_string();
    for (secret, text) in [
        (OLD_SECRET, "from the old secret"),
        (NEW_SECRET, "from the new secret"),
    ] {
        let body = broadcast(text);
        let (status, answer) = s
            .client
            .post_with(
                "/api/notify",
                body.clone(),
                &signed_headers(secret, &now, &body),
            )
            .await;
        assert_eq!(
            (status, answer["recipients"].clone()),
            (202, json!(1)),
            "{answer}"
        );
        s.channel.wait_for_text("sub", text, WAIT).await;
    }
    let body = broadcast("with the api key");
    let (status, _) = s
        .client
        .post_with(
            "/api/notify",
            body,
            &[("authorization", format!("Bearer {API_KEY}"))],
        )
        .await;
    assert_eq!(status, 202);
    s.channel
        .wait_for_text("sub", "with the api key", WAIT)
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn unsigned_forged_stale_and_replayed_requests_get_401() {
    let s = setup("webhook-refused").await;
    let body = broadcast("must not be sent");
    let now = now_plus(0).to_string();
    let valid = signed_headers(NEW_SECRET, &now, &body);
    let stale = now_plus(-400).to_string();
    let future = now_plus(400).to_string();
    let later = now_plus(60).to_string();
    let cases: Vec<(&str, String, Headers)> = vec![
        ("unsigned", body.clone(), vec![]),
        (
            "wrong secret",
            body.clone(),
            signed_headers("not-a-configured-secret-000", &now, &body),
        ),
        (
            "stale timestamp",
            body.clone(),
            signed_headers(NEW_SECRET, &stale, &body),
        ),
        (
            "timestamp from the future",
            body.clone(),
            signed_headers(NEW_SECRET, &future, &body),
        ),
        (
            "the body replayed under a new timestamp with the old signature",
            body.clone(),
            vec![(TIMESTAMP_HEADER, later), valid[1].clone()],
        ),
        (
            "another body under a valid signature",
            broadcast("something else entirely"),
            valid.clone(),
        ),
        (
            "a signature made for another route",
            body.clone(),
            signed_for(NEW_SECRET, &now, "POST", "/api/reminders", &body),
        ),
        (
            "a signature made for another method",
            body.clone(),
            signed_for(NEW_SECRET, &now, "GET", "/api/notify", &body),
        ),
        (
            "a signature without a timestamp",
            body.clone(),
            vec![valid[1].clone()],
        ),
        (
            "wrong api key",
            body.clone(),
            vec![(
                "authorization",
                "Bearer webhook-api-key-abcdefghijkX".into(),
            )],
        ),
        (
            "api key under another scheme",
            body.clone(),
            vec![("authorization", format!("Basic {API_KEY}"))],
        ),
    ];
    for (name, body, headers) in cases {
        let (status, answer) = s.client.post_with("/api/notify", body, &headers).await;
        assert_eq!((status, answer), (401, unauthorized()), "{name}");
    }
    assert_eq!(s.client.get("/api/notify").await.0, 401, "GET unsigned");
    let huge = "x".repeat(100 * 1024);
    let (status, _) = s
        .client
        .post_with(
            "/api/notify",
            huge.clone(),
            &signed_headers(NEW_SECRET, &now, &huge),
        )
        .await;
    assert_eq!(status, 413, "bodies are bounded before anything else");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!s
        .channel
        .texts("sub")
        .iter()
        .any(|t| t.contains("must not") || t.contains("something else")));
    s.host.stop().await;
}

/// The README block after the recipe marker, exactly as written.
fn readme_recipe() -> String {
    let readme = include_str!("../../README.md");
    let after = readme
        .split("<!-- webhook-signing-recipe")
        .nth(1)
        .expect("the README has the signing recipe");
    let block = after
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the recipe is a sh block");
    block.to_owned()
}

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn the_readme_signing_recipe_works_as_written() {
    let s = setup("webhook-recipe").await;
    let recipe = readme_recipe();
    for part in [
        "printf '%s' \"$body\" | openssl dgst -sha256 -r",
        "printf '%s\\n%s\\n%s\\n%s' \"$ts\" POST /api/notify \"$hash\"",
        "openssl dgst -sha256 -hmac \"$NUDGE_WEBHOOK_SECRET\"",
        "X-Nudge-Timestamp: $ts",
        "X-Nudge-Signature: sha256=$sig",
        "--data-binary \"$body\"",
    ] {
        assert!(recipe.contains(part), "the recipe has `{part}`:\n{recipe}");
    }
    if !(have("openssl") && have("curl") && have("bash")) {
        // Reproduce it byte for byte instead: the canonical lines, hex, prefixed.
        eprintln!("openssl, curl or bash missing: checking the recipe's bytes in Rust");
        let body = r#"{"text": "Deploy finished"}"#;
        let ts = now_plus(0).to_string();
        let (status, _) = s
            .client
            .post_with("/api/notify", body, &signed_headers(NEW_SECRET, &ts, body))
            .await;
        assert_eq!(status, 202);
    } else {
        let output = tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &recipe])
            .env("NUDGE_URL", s.client.base_url())
            .env("NUDGE_WEBHOOK_SECRET", NEW_SECRET)
            .output()
            .await
            .expect("run the recipe");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value = serde_json::from_str(&stdout).expect("nudge answered JSON");
        assert_eq!(answer["recipients"], 1, "{answer}");
    }
    s.channel
        .wait_for_text("sub", "Deploy finished", WAIT)
        .await;
    s.host.stop().await;
}

#[tokio::test]
async fn a_signed_request_is_accepted_once_and_its_replays_get_409() {
    let s = setup("webhook-replay").await;
    let body = broadcast("sent once");
    let now = now_plus(0).to_string();
    let headers = signed_headers(NEW_SECRET, &now, &body);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, answer) = s
            .client
            .post_with("/api/notify", body.clone(), &headers)
            .await;
        statuses.push(status);
        if status == 409 {
            assert_eq!(answer["error"]["code"], "SignatureReplayed", "{answer}");
        }
    }
    assert_eq!(statuses, [202, 409, 409]);
    // Signed anew (the next second), the same call is a new request.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = now_plus(0).to_string();
    let (status, _) = s
        .client
        .post_with(
            "/api/notify",
            body.clone(),
            &signed_headers(NEW_SECRET, &again, &body),
        )
        .await;
    assert_eq!(status, 202, "a retry signs again and is accepted");
    // A client library's retry resends the very same request: with the same
    // Idempotency-Key it gets the first answer; under another key (the key
    // is not signed) it is a replay.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = now_plus(0).to_string();
    let mut keyed = signed_headers(NEW_SECRET, &third, &body);
    keyed.push(("idempotency-key", "retry-me".to_owned()));
    let first = s
        .client
        .post_with("/api/notify", body.clone(), &keyed)
        .await;
    let copy = s
        .client
        .post_with("/api/notify", body.clone(), &keyed)
        .await;
    assert_eq!(first.0, 202, "{first:?}");
    assert_eq!(copy, first, "the same answer, nothing done again");
    keyed.pop();
    keyed.push(("idempotency-key", "another-key".to_owned()));
    let (status, answer) = s
        .client
        .post_with("/api/notify", body.clone(), &keyed)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("SignatureReplayed"))
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.channel.wait_for_text("sub", "sent once", WAIT).await;
    let sent = s
        .channel
        .texts("sub")
        .iter()
        .filter(|t| t.contains("sent once"))
        .count();
    assert_eq!(sent, 3, "one message per accepted request, none per replay");
    s.host.stop().await;
}

#[tokio::test]
async fn get_requests_carry_no_body_and_nothing_moves_between_target_and_body() {
    let s = setup("webhook-canonical").await;
    let now = now_plus(0).to_string();
    // Under the old `ts.METHOD target.body` form, a signature for the first
    // request also verified the second.
    let headers = signed_for(NEW_SECRET, &now, "GET", "/api/notifications/n-X.h", "");
    let (status, answer) = s
        .client
        .send_with("GET", "/api/notifications/n-X", "h.", &headers)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "BodyNotAllowed");
    let signed_with_body = signed_for(NEW_SECRET, &now, "GET", "/api/notify", "{}");
    let (status, answer) = s
        .client
        .send_with("GET", "/api/notify", "{}", &signed_with_body)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("BodyNotAllowed"))
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!s
        .channel
        .texts("sub")
        .iter()
        .any(|t| t.contains("proactive hello")));
    s.host.stop().await;
}

#[tokio::test]
async fn idempotency_keys_belong_to_one_credential() {
    let s = setup("webhook-idem-scope").await;
    let key = ("idempotency-key", "deploy-42".to_owned());
    let body = broadcast("from the key holder");
    let bearer = ("authorization", format!("Bearer {API_KEY}"));
    let (status, by_key) = s
        .client
        .post_with("/api/notify", body.clone(), &[bearer.clone(), key.clone()])
        .await;
    assert_eq!(status, 202, "{by_key}");
    let (_, again) = s
        .client
        .post_with("/api/notify", body.clone(), &[bearer, key.clone()])
        .await;
    assert_eq!(
        again, by_key,
        "the same credential's retry gets the first answer"
    );

    // Another credential's same key is another call: neither the stored
    // answer (422 for another body, or a replay for the same one) nor
    // blocked by it.
    for (secret, text) in [
        (NEW_SECRET, "from a signer"),
        (OLD_SECRET, "from the key holder"),
    ] {
        let body = broadcast(text);
        let mut headers = signed_headers(secret, &now_plus(0).to_string(), &body);
        headers.push(key.clone());
        let (status, answer) = s.client.post_with("/api/notify", body, &headers).await;
        assert_eq!(status, 202, "{answer}");
        assert_ne!(
            answer["notificationId"], by_key["notificationId"],
            "{secret}'s call is its own"
        );
    }
    s.channel.wait_for_text("sub", "from a signer", WAIT).await;
    s.host.stop().await;
}
