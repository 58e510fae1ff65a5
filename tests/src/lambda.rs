//! The real Lambda function binaries, driven through a Lambda Runtime API
//! emulator: `cargo lambda watch --only-lambda-apis` (PyPI `cargo-lambda`,
//! installed by `scripts/test`) serves the Runtime API on a free loopback
//! port, the function binary runs against it exactly as it does in Lambda,
//! and [`LambdaFunction::invoke`] sends it events through the emulator's
//! `Invoke` endpoint.
//!
//! Each function gets an emulator of its own; both processes are killed
//! when the value is dropped.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::host::binary;
use crate::server::free_port;

/// The emulator's name for the function it serves in this mode.
const FUNCTION: &str = "_";

pub struct LambdaFunction {
    name: String,
    invoke_url: String,
    http: reqwest::Client,
    _emulator: Child,
    function: Child,
}

impl LambdaFunction {
    /// Starts the emulator and the function binary `name` (from the
    /// workspace's target directory) with `env` on top of this process's
    /// environment.
    pub async fn start(name: &str, env: &[(&str, String)]) -> LambdaFunction {
        let port = free_port();
        let emulator = Command::new("cargo-lambda")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut emulator = emulator.unwrap_or_else(|e| {
            panic!(
                "cannot start `cargo-lambda` ({e}): the function tests need the Lambda runtime \
                 emulator that scripts/test installs (PyPI cargo-lambda, on PATH from .venv/bin). \
                 Run scripts/test."
            )
        });
        forward_logs(&format!("{name} emulator"), emulator.stderr.take());
        wait_for_port(port).await;
        let mut function = Command::new(binary(name))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("nudge-{name}"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the function binary");
        forward_logs(name, function.stderr.take());
        LambdaFunction {
            name: name.to_owned(),
            invoke_url: format!(
                "http://127.0.0.1:{port}/2015-03-31/functions/{FUNCTION}/invocations"
            ),
            http: crate::http::client(),
            _emulator: emulator,
            function,
        }
    }

    /// The id of the function's process (not the emulator's), to kill it
    /// as a crash would ([`crate::event_source::EventSource::kill`]).
    pub fn function_pid(&self) -> Option<u32> {
        self.function.id()
    }

    /// Invokes the function with `event` and returns its response.
    pub async fn invoke(&self, event: &Value) -> Value {
        self.try_invoke(event)
            .await
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// Invokes the function with `event`: its response, or what went wrong
    /// (no answer within a minute, an error status, a body that is not
    /// JSON), as Lambda's event source sees a failed invocation.
    pub async fn try_invoke(&self, event: &Value) -> Result<Value, String> {
        let name = &self.name;
        let response = self
            .http
            .post(&self.invoke_url)
            .json(event)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| format!("invoking {name}: {e}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("invoking {name} answered {status}: {body}"));
        }
        serde_json::from_str(&body)
            .map_err(|e| format!("{name} answered with no JSON ({e}): {body:?}"))
    }
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the Lambda runtime emulator did not listen on port {port}");
}

/// Copies a child's log lines into the test's output (shown on failure).
fn forward_logs(label: &str, stream: Option<tokio::process::ChildStderr>) {
    let Some(stream) = stream else { return };
    let label = label.to_owned();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{label}] {line}");
        }
    });
}
