//! A Functions host of our own, for the Azure custom handler: it follows
//! the host's documented rules as far as the handler can tell them apart,
//! since no Functions host runs here.
//!
//! - It starts the real `handler` binary with `FUNCTIONS_CUSTOMHANDLER_PORT`
//!   and pings `GET /` until it answers (the host's start-up rule).
//! - HTTP functions are proxied: a request goes to the handler at its own
//!   path, as sent.
//! - The queue trigger ([`FunctionsHost::trigger_queue`]) receives a
//!   message from the Storage queue (hidden for `host.json`'s
//!   `visibilityTimeout`), posts it to `/notifier` as
//!   `{"Data": {"message": …}, "Metadata": {Id, PopReceipt, DequeueCount,
//!   InsertionTime}}` in one of the forms the host is seen to use, deletes
//!   it on a 2xx (a stale pop receipt, after the handler delayed it
//!   itself, is no error) and leaves it otherwise; the queue adapter
//!   poisons a message dequeued more than `maxDequeueCount` times, as the
//!   host does.
//! - The timer trigger ([`FunctionsHost::trigger_timer`]) posts the
//!   timer's `Data` to `/reminder`, one at a time.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use futures::stream::{self, StreamExt};
use nudge::azure::functions::{NOTIFIER, QUEUE_BINDING, REMINDER, TIMER_BINDING};
use nudge::queue::azure::AzureQueue;
use nudge::queue::Queue;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::host::binary;
use crate::server::free_port;

/// `host.json`'s `batchSize`: invocations at once.
pub const BATCH_SIZE: usize = 16;

/// `host.json`'s `visibilityTimeout`, shortened for tests.
pub const VISIBILITY: Duration = Duration::from_secs(5);

/// The status [`FunctionsHost::trigger_queue`] reports for an invocation
/// the handler never answered (it died).
pub const DIED: u16 = 0;

/// How the host puts a queue message's text in `Data`.
#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    /// The JSON object itself.
    Object,
    /// The text, as a JSON string.
    Text,
    /// The text JSON-encoded again, as a JSON string.
    DoubleEncoded,
    /// Base64 of the text, as a JSON string.
    Base64,
}

/// The handler, running under our host.
pub struct FunctionsHost {
    child: Child,
    pid: u32,
    port: u16,
    http: reqwest::Client,
}

impl FunctionsHost {
    /// Starts the handler with `env` (beside the port) and waits until it
    /// answers the ping.
    pub async fn start(env: &[(&str, String)]) -> FunctionsHost {
        FunctionsHost::start_binary(&binary("handler"), env).await
    }

    /// The same with the handler at `path` (a release build, for the
    /// benchmarks).
    pub async fn start_binary(path: &std::path::Path, env: &[(&str, String)]) -> FunctionsHost {
        let port = free_port();
        let child = Command::new(path)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the handler");
        let mut child = child;
        // Its logs go to the test's captured output, shown when it fails.
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    println!("[handler] {line}");
                }
            });
        }
        let pid = child.id().expect("the handler's pid");
        let host = FunctionsHost {
            child,
            pid,
            port,
            http: crate::http::client(),
        };
        for _ in 0..300 {
            if let Ok(response) = host.http.get(host.url("/")).send().await {
                assert_eq!(response.status(), 200, "the ping is answered 200");
                return host;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the handler did not answer the host's ping within 30 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A proxied HTTP request: status and body (JSON when it is JSON).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> (u16, Value) {
        self.send(method, path, headers, body)
            .await
            .expect("the handler answers")
    }

    /// A request to the handler; an error when it did not answer (it died).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self.http.request(method, self.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(json!(text))))
    }

    /// Plays the queue trigger once for up to `max` messages of `queue`
    /// (a client of the notifier's queue that poisons after the host's
    /// `maxDequeueCount`); returns the handler's status for each.
    pub async fn trigger_queue(
        &self,
        queue: &AzureQueue,
        max: usize,
        encoding: Encoding,
    ) -> Vec<u16> {
        let messages = queue
            .receive(max, VISIBILITY, Duration::from_secs(2))
            .await
            .expect("receive from the queue");
        // As the host runs a batch: up to `batchSize` (16) at once.
        stream::iter(messages)
            .map(|message| self.invoke_notifier(queue, message, encoding))
            .buffer_unordered(BATCH_SIZE)
            .collect()
            .await
    }

    /// One queue-trigger invocation; deletes the message when it succeeded.
    pub async fn invoke_notifier(
        &self,
        queue: &AzureQueue,
        message: nudge::queue::ReceivedMessage,
        encoding: Encoding,
    ) -> u16 {
        let (id, pop) =
            nudge::queue::azure::receipt::split(&message.receipt).expect("an Azure receipt");
        let data = match encoding {
            Encoding::Object => serde_json::from_str(&message.body).unwrap_or(json!(message.body)),
            Encoding::Text => json!(message.body),
            Encoding::DoubleEncoded => json!(json!(message.body).to_string()),
            Encoding::Base64 => {
                json!(base64::engine::general_purpose::STANDARD.encode(&message.body))
            }
        };
        let invocation = json!({
            "Data": { QUEUE_BINDING: data },
            "Metadata": {
                "Id": id,
                "PopReceipt": pop,
                "DequeueCount": message.receive_count,
                "InsertionTime": message.sent_at.to_string(),
                "sys": {"MethodName": NOTIFIER, "UtcNow": jiff::Timestamp::now().to_string()},
            },
        });
        // A handler that died mid-invocation fails it: the message stays
        // and comes back after the visibility timeout, as on the host.
        let status = self
            .send(
                reqwest::Method::POST,
                &format!("/{NOTIFIER}"),
                &[],
                invocation.to_string(),
            )
            .await
            .map_or(DIED, |(status, _)| status);
        if (200..300).contains(&status) {
            queue
                .delete(&message.receipt)
                .await
                .expect("delete after success");
        }
        status
    }

    /// Plays the timer trigger once; the handler's status and answer.
    pub async fn trigger_timer(&self, past_due: bool) -> (u16, Value) {
        let invocation = json!({
            "Data": { TIMER_BINDING: {
                "Schedule": {"AdjustForDST": true},
                "ScheduleStatus": null,
                "IsPastDue": past_due,
            }},
            "Metadata": {"sys": {"MethodName": REMINDER}},
        });
        self.request(
            reqwest::Method::POST,
            &format!("/{REMINDER}"),
            &[],
            invocation.to_string(),
        )
        .await
    }

    /// Kills the handler at once (SIGKILL), as a crash or a host recycling
    /// its worker would.
    pub fn kill(&self) {
        let pid = self.pid.to_string();
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "killed the handler");
    }

    /// The handler's peak resident memory so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        peak_rss_mib(self.pid)
    }

    /// Whether the handler is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A process's peak resident memory so far (`VmHWM`), in MiB; 0 when it
/// cannot be read.
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
