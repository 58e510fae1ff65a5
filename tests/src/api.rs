//! Calling the webhook API as an external system does: every request signed
//! (`X-Nudge-Timestamp`, `X-Nudge-Signature`) with the host's secret, and
//! every answer checked against `openapi.yaml` ([`crate::api_spec`]) before
//! the test sees it. [`ApiHarness`] is a local host with a webhook secret,
//! a fake channel, and both clients.

use std::time::Duration;

use nudge::auth::webhook::signature::{sign, Signed, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use nudge::config::Settings;
use nudge::local::LocalHost;
use reqwest::Method;
use serde_json::{json, Value};

use crate::api_spec::spec;
use crate::channel::FakeChannel;
use crate::client::BotClient;
use crate::host::{base_url, settings_with, start_in_process, DataDir};

/// The webhook secret of [`ApiHarness`] hosts.
pub const SECRET: &str = "api-test-webhook-secret-0123456789";

/// An answer of the API, already checked against the document.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// Marked as the replay of an earlier call's answer.
    pub replayed: bool,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    secret: String,
}

impl ApiClient {
    pub fn new(base_url: impl Into<String>, secret: impl Into<String>) -> Self {
        ApiClient {
            http: crate::http::client(),
            base_url: base_url.into(),
            secret: secret.into(),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.request(Method::POST, path, body.to_string(), &[])
            .await
    }

    /// A `POST` with an `Idempotency-Key`.
    pub async fn post_once(&self, path: &str, body: &Value, key: &str) -> Answer {
        let headers = [("idempotency-key", key.to_owned())];
        self.request(Method::POST, path, body.to_string(), &headers)
            .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, String::new(), &[]).await
    }

    /// Sends a signed request; panics if the answer is not one
    /// `openapi.yaml` documents.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: String,
        headers: &[(&str, String)],
    ) -> Answer {
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let signature = sign(
            self.secret.as_bytes(),
            &Signed {
                timestamp: &timestamp,
                method: method.as_str(),
                target: path,
                body: body.as_bytes(),
            },
        );
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request to nudge");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let replayed = response.headers().contains_key("idempotent-replayed");
        let bytes = response.bytes().await.unwrap_or_default();
        if let Err(problem) = spec().check(
            method.as_str(),
            path,
            status,
            content_type.as_deref(),
            &bytes,
        ) {
            panic!("the answer is not as openapi.yaml says: {problem}");
        }
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            replayed,
        }
    }
}

/// A local host with a webhook secret, a fake channel, a channel client and
/// a signing API client.
pub struct ApiHarness {
    pub channel: FakeChannel,
    pub client: BotClient,
    pub api: ApiClient,
    pub host: LocalHost,
    _data: DataDir,
}

impl ApiHarness {
    pub async fn start(name: &str) -> ApiHarness {
        Self::start_with(name, &[], |_| {}).await
    }

    /// A host with more variables and settings changed by `tweak`.
    pub async fn start_with(
        name: &str,
        env: &[(&str, String)],
        tweak: impl FnOnce(&mut Settings),
    ) -> ApiHarness {
        let data = DataDir::new(name);
        let channel = FakeChannel::start().await;
        let mut all = vec![("NUDGE_WEBHOOK_SECRETS", SECRET.to_owned())];
        all.extend(env.iter().cloned());
        let mut settings = settings_with(data.path(), &all);
        tweak(&mut settings);
        let host = start_in_process(&settings).await;
        let client = BotClient::new(base_url(&host), channel.service_url());
        let api = ApiClient::new(base_url(&host), SECRET);
        ApiHarness {
            channel,
            client,
            api,
            host,
            _data: data,
        }
    }

    /// `user` writes in `conversation` (so nudge stores the reference) and
    /// the bot's answer arrives; returns the conversation's key.
    pub async fn converse(&self, conversation: &str, user: &str) -> String {
        let mut message = self.client.message(conversation, "help");
        message["from"] = json!({"id": user, "name": user});
        let mark = self.channel.texts(conversation).len();
        assert_eq!(self.client.post_activity(&message).await.0, 200);
        self.channel
            .wait_for_text_after(conversation, mark, "Here's what you can say", WAIT)
            .await;
        format!("emulator#{conversation}")
    }

    /// Waits until `GET /api/notifications/{id}` says complete; returns it.
    pub async fn until_complete(&self, id: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self.api.get(&format!("/api/notifications/{id}")).await;
            if answer.status == 200 && answer.body["complete"] == true {
                return answer.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} not complete within {timeout:?}: {}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How long tests wait for something the host does by itself.
pub const WAIT: Duration = Duration::from_secs(10);
