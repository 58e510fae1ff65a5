//! What nudge sends out, and writes down, stays where it belongs: no client
//! follows a redirect (the activity, the token or the client secret would
//! go to whatever host the redirect names), ids that are path segments
//! cannot climb out of the Connector path, and values from outside cannot
//! forge log lines.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use nudge::config::Settings;
use nudge::connector::{token, ConnectorClient};
use nudge_tests::client::BotClient;
use nudge_tests::host::{binary, settings_with, DataDir, Harness, TestEnv};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(10);

/// A server that counts every request it gets.
struct Counting {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn counting() -> Counting {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let router = Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::OK,
                r#"{"id":"1","access_token":"t","expires_in":3600}"#,
            )
        }
    });
    Counting {
        url: serve(router).await,
        hits,
    }
}

/// A server that answers everything with a 307 to `target` (same path).
async fn redirecting_to(target: &str) -> String {
    let target = target.to_owned();
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{target}{}", uri.path());
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response()
        }
    });
    serve(router).await
}

#[tokio::test]
async fn replies_and_proactive_messages_do_not_follow_redirects() {
    let elsewhere = counting().await;
    let redirector = redirecting_to(&elsewhere.url).await;
    let h = Harness::start("hygiene-redirect").await;
    let client = BotClient::new(nudge_tests::host::base_url(&h.host), &redirector);
    assert_eq!(client.say("r", "help").await, 200);
    assert_eq!(client.say("r", "subscribe").await, 200);
    // The subscribe notice goes out through the notifier after 3 s.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        elsewhere.hits.load(Ordering::SeqCst),
        0,
        "no activity reached the host the redirect named"
    );
    h.host.stop().await;
}

#[tokio::test]
async fn the_client_secret_does_not_follow_a_redirect() {
    let elsewhere = counting().await;
    let redirector = redirecting_to(&elsewhere.url).await;
    let env = [
        ("MicrosoftAppId", "app".to_owned()),
        ("MicrosoftAppPassword", "the-client-secret".to_owned()),
        ("ToChannelFromBotLoginUrl", format!("{redirector}/tenant")),
    ];
    let settings = Settings::from_env(&TestEnv(&env)).expect("settings");
    let source = token::for_app(
        settings.app.as_ref().expect("an app"),
        ConnectorClient::http_client(),
    )
    .expect("a token source");
    let refused = tokio::time::timeout(Duration::from_secs(60), source.token())
        .await
        .expect("the token source gives up");
    assert!(refused.is_err(), "a redirect is not a token: {refused:?}");
    assert_eq!(
        elsewhere.hits.load(Ordering::SeqCst),
        0,
        "the client secret never reached the host the redirect named"
    );
}

#[tokio::test]
async fn dot_segment_ids_are_refused_at_the_door() {
    let h = Harness::start("hygiene-dots").await;
    for (field, value) in [
        ("conversation", json!({"id": ".."})),
        ("conversation", json!({"id": "."})),
        ("id", json!("..")),
    ] {
        let mut activity = h.client.message("dots", "help");
        activity[field] = value.clone();
        let (status, body) = h.client.post_activity(&activity).await;
        assert_eq!(status, 400, "{field} {value}: {body}");
        assert_eq!(body["error"]["code"], "InvalidActivity", "{body}");
    }
    let (status, body) = h
        .client
        .post_raw(
            "/api/notify",
            json!({"target": {"kind": "conversation", "channelId": "emulator", "conversationId": ".."},
                   "text": "up"})
            .to_string(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // An id made of more dots is a plain segment.
    let mut activity = h.client.message("...", "help");
    activity["id"] = json!("...");
    assert_eq!(h.client.post_activity(&activity).await.0, 200);
    h.channel
        .wait_for_text("...", "what you can say", WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.channel.in_conversation("..").is_empty() && h.channel.in_conversation(".").is_empty()
    );
    h.host.stop().await;
}

#[tokio::test]
async fn values_from_outside_cannot_forge_log_lines() {
    let data = DataDir::new("hygiene-logs");
    let channel = nudge_tests::channel::FakeChannel::start().await;
    let mut child = Command::new(binary("nudge"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data.path())
        .env_remove("MicrosoftAppId")
        .env_remove("NUDGE_WEBHOOK_SECRETS")
        .env_remove("NUDGE_WEBHOOK_API_KEYS")
        .env("NUDGE_LOG", "info")
        .env("NUDGE_LOG_FORMAT", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn nudge");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = vec![0u8; 256];
    let n = tokio::time::timeout(WAIT, stdout.read(&mut first))
        .await
        .expect("nudge prints its address")
        .expect("read");
    let line = String::from_utf8_lossy(&first[..n]).into_owned();
    let port: u16 = line
        .split("http://localhost:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a port");
    let client = BotClient::new(format!("http://127.0.0.1:{port}"), channel.service_url());
    let forged = "x\n2026-12-02T00:00:00.000000Z ERROR nudge: FORGED \u{1b}[31mred\u{1b}[0m";
    let mut event = client.message("logs", "");
    event["type"] = json!("event");
    event["name"] = json!("jobComplete");
    event["value"] = json!(forged);
    assert_eq!(client.post_activity(&event).await.0, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("nudge stops")
        .expect("output");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("jobComplete event without a valid job id"),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-02T00:00:00")),
        "no forged line: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no raw escape sequence: {log}");
    assert!(log.contains(r"x\n2026-12-02T00:00:00"), "{log}");
}

#[tokio::test]
async fn settings_never_print_the_app_password() {
    let data = DataDir::new("hygiene-debug");
    let settings = settings_with(
        data.path(),
        &[
            ("MicrosoftAppId", "app".to_owned()),
            ("MicrosoftAppPassword", "s3cret-app-password".to_owned()),
        ],
    );
    let printed = format!("{settings:?}");
    assert!(printed.contains("app"), "{printed}");
    assert!(!printed.contains("s3cret-app-password"), "{printed}");
}
