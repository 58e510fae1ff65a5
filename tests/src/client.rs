//! Talking to a running nudge the way a channel does: activities POSTed to
//! `/api/messages`, with the fake channel's service URL so that replies come
//! back to it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::channel::FakeChannel;

/// The bot's account, as channels name it in `recipient`.
pub const BOT_ID: &str = "bot-nudge";

/// How long [`BotClient::ask`] waits for its answer.
const ASK_WAIT: Duration = Duration::from_secs(15);

pub struct BotClient {
    http: reqwest::Client,
    base_url: String,
    service_url: String,
}

impl BotClient {
    /// `base_url`: the host, like `http://127.0.0.1:3978`; `service_url`: the
    /// channel replies go to.
    pub fn new(base_url: impl Into<String>, service_url: impl Into<String>) -> Self {
        BotClient {
            http: crate::http::client(),
            base_url: base_url.into(),
            service_url: service_url.into(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A message activity from `user` in `conversation`, as the Emulator
    /// sends it.
    pub fn message(&self, conversation: &str, text: &str) -> Value {
        json!({
            "type": "message",
            "id": format!("in-{}", nudge_id()),
            "timestamp": "2026-11-21T10:00:00.1234567Z",
            "channelId": "emulator",
            "serviceUrl": self.service_url,
            "from": {"id": format!("user-{conversation}"), "name": "Ann", "role": "user"},
            "recipient": {"id": BOT_ID, "name": "nudge", "role": "bot"},
            "conversation": {"id": conversation},
            "locale": "en-US",
            "text": text
        })
    }

    /// Sends a message; returns the HTTP status.
    pub async fn say(&self, conversation: &str, text: &str) -> u16 {
        self.post_activity(&self.message(conversation, text))
            .await
            .0
    }

    /// Says `text` in `conversation` and waits for the first message the
    /// conversation receives after it that contains `expect`; returns it.
    pub async fn ask(
        &self,
        channel: &FakeChannel,
        conversation: &str,
        text: &str,
        expect: &str,
    ) -> String {
        let mark = channel.texts(conversation).len();
        assert_eq!(self.say(conversation, text).await, 200, "saying `{text}`");
        channel
            .wait_for_text_after(conversation, mark, expect, ASK_WAIT)
            .await
    }

    /// Posts any JSON to `/api/messages`; returns status and body.
    pub async fn post_activity(&self, activity: &Value) -> (u16, Value) {
        self.post_raw("/api/messages", activity.to_string()).await
    }

    /// Posts a raw body to a path; returns status and the body as JSON
    /// (`Value::Null` when empty or not JSON).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        self.post_with(path, body, &[]).await
    }

    /// Posts an activity with an `Authorization` header value, as a channel
    /// with credentials does.
    pub async fn post_activity_as(&self, activity: &Value, authorization: &str) -> (u16, Value) {
        self.post_with(
            "/api/messages",
            activity.to_string(),
            &[("authorization", authorization.to_owned())],
        )
        .await
    }

    /// Posts a raw body to a path with extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        self.send_with("POST", path, body, headers).await
    }

    /// Any method, a JSON body and these headers.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        read(request.send().await.expect("request to nudge")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("request to nudge");
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn nudge_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
