//! Who may drive the local host: it refuses to start where unsigned
//! webhooks or unauthenticated activities could be reached by others, and,
//! running open on loopback, refuses what a web page in the developer's
//! browser could send. Its data directory is private.

use std::process::Command;
use std::time::Duration;

use nudge::auth::SetupError;
use nudge::local::{LocalHost, StartError};
use nudge_tests::channel::FakeChannel;
use nudge_tests::host::{binary, settings_with, DataDir, Harness};
use nudge_tests::openid::{OpenIdServer, APP_ID};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

fn start_error(result: Result<LocalHost, StartError>) -> String {
    match result {
        Ok(_) => panic!("the host must refuse to start"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn an_app_id_without_a_webhook_credential_is_refused_at_start() {
    let data = DataDir::new("exposure-app-id");
    let openid = OpenIdServer::start().await;
    let mut env = openid.env();
    env.extend([
        ("MicrosoftAppId", APP_ID.to_owned()),
        ("MicrosoftAppPassword", "pw".to_owned()),
    ]);
    let message = start_error(LocalHost::start(&settings_with(data.path(), &env)).await);
    assert!(
        message.contains("NUDGE_WEBHOOK_SECRETS") && message.contains("NUDGE_WEBHOOK_API_KEYS"),
        "{message}"
    );
    assert!(message.contains("MicrosoftAppId is set"), "{message}");

    env.push((
        "NUDGE_WEBHOOK_API_KEYS",
        "an-api-key-of-sixteen-chars".to_owned(),
    ));
    let host = LocalHost::start(&settings_with(data.path(), &env))
        .await
        .expect("with a credential it starts");
    host.stop().await;
}

#[tokio::test]
async fn listening_beyond_loopback_without_an_app_id_is_refused() {
    let data = DataDir::new("exposure-bind");
    let env = [("NUDGE_BIND", "0.0.0.0".to_owned())];
    let result = LocalHost::start(&settings_with(data.path(), &env)).await;
    assert!(
        matches!(
            result,
            Err(StartError::Security(SetupError::ExposedWithoutAppId(_)))
        ),
        "{:?}",
        result.as_ref().err()
    );
    let message = start_error(result);
    assert!(message.contains("NUDGE_BIND=0.0.0.0"), "{message}");

    // The binary says so and exits with an error.
    let output = Command::new(binary("nudge"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data.path())
        .env_remove("MicrosoftAppId")
        .env_remove("NUDGE_WEBHOOK_SECRETS")
        .env_remove("NUDGE_WEBHOOK_API_KEYS")
        .env("NUDGE_BIND", "0.0.0.0")
        .output()
        .expect("run nudge");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NUDGE_BIND=0.0.0.0"), "{stderr}");
}

/// Sends a raw HTTP/1.1 request; the status line and body.
async fn raw(port: u16, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_owned())
}

fn code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap_or(Value::Null)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn what_a_web_page_could_send_is_refused_and_what_people_do_still_works() {
    let h = Harness::start("exposure-browser").await;
    let port = h.host.addr().port();
    h.client.say("sub", "subscribe").await;
    h.channel
        .wait_for_text("sub", "You have been notified", WAIT)
        .await;
    let activity = h.client.message("sub", "help").to_string();
    let post = |path: &str, extra: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{extra}\r\n")
    };
    let refused = [
        (
            "a cross-site text/plain POST to /api/notify",
            post("/api/notify", "Content-Type: text/plain\r\n", r#"{"text":"page"}"#),
            415,
            "UnsupportedMediaType",
        ),
        (
            "a cross-site text/plain POST to /api/messages",
            post("/api/messages", "Content-Type: text/plain\r\n", &activity),
            415,
            "UnsupportedMediaType",
        ),
        (
            "a form POST",
            post(
                "/api/notify",
                "Content-Type: application/x-www-form-urlencoded\r\n",
                "text=page",
            ),
            415,
            "UnsupportedMediaType",
        ),
        (
            "an <img> pointing at GET /api/notify",
            get(
                "/api/notify",
                "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: image\r\n",
            ),
            403,
            "CrossSiteRequest",
        ),
        (
            "a page on another port of localhost",
            post(
                "/api/notify",
                "Content-Type: application/json\r\nSec-Fetch-Site: same-site\r\n",
                r#"{"text":"page"}"#,
            ),
            403,
            "CrossSiteRequest",
        ),
        (
            "a foreign Origin",
            post(
                "/api/notify",
                "Content-Type: application/json\r\nOrigin: https://evil.example\r\n",
                r#"{"text":"page"}"#,
            ),
            403,
            "CrossSiteRequest",
        ),
        (
            "a DNS-rebinding page reading the conversations",
            format!(
                "GET /api/conversations HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\n\
                 Connection: close\r\n\r\n"
            ),
            403,
            "HostNotAllowed",
        ),
    ];
    for (what, request, status, expected) in refused {
        let (got, body) = raw(port, &request).await;
        assert_eq!(
            (got, code(&body).as_str()),
            (status, expected),
            "{what}: {body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.channel.texts("sub").len(),
        2,
        "nothing refused reached the bot: {:?}",
        h.channel.texts("sub")
    );

    // Typed into the address bar (a top-level navigation), and curl.
    let (status, body) = raw(
        port,
        &get(
            "/api/notify",
            "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n",
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    h.channel
        .wait_for_text("sub", "proactive hello", WAIT)
        .await;
    let (status, _) = raw(
        port,
        &post(
            "/api/notify",
            "Content-Type: application/json\r\n",
            r#"{"text":"by curl"}"#,
        ),
    )
    .await;
    assert_eq!(status, 202);
    h.channel.wait_for_text("sub", "by curl", WAIT).await;
    h.host.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let data = DataDir::new("exposure-files");
    let dir = data.path().join("fresh");
    let settings = settings_with(&dir, &[]);
    let host = LocalHost::start(&settings).await.expect("starts");
    let channel = FakeChannel::start().await;
    let client = nudge_tests::client::BotClient::new(
        nudge_tests::host::base_url(&host),
        channel.service_url(),
    );
    client.say("files", "subscribe").await;
    channel
        .wait_for_text("files", "You're subscribed", WAIT)
        .await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&dir), 0o700, "the data directory");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("read dir") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 2, "store.db and queue.db at least");
    host.stop().await;
}
