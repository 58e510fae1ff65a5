//! Starting nudge for a test: in-process (fast, with access to its store and
//! queue) or as the real `nudge` binary (for restarts and crashes).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nudge::assemble::Assembly;
use nudge::bot::{Commands, TurnHandler};
use nudge::config::{Env, Settings};
use nudge::local::LocalHost;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::channel::FakeChannel;
use crate::client::BotClient;
use crate::delivery::RIG_JITTER_MS;

/// A fresh, empty data directory under the system temp dir, removed on drop.
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!(
            "nudge-test-{name}-{}-{}",
            std::process::id(),
            nudge_unique()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create data dir");
        DataDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nudge_unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Settings for a test host: any free port, the given data directory, no
/// app id (the Emulator case), everything else default.
pub fn local_settings(data_dir: &Path) -> Settings {
    settings_with(data_dir, &[])
}

/// Settings for a test host read from `env` (names and values as the
/// process environment would hold them), on any free port and `data_dir`.
/// The rate limits' jitter allowance is the rigs' ([`RIG_JITTER_MS`]) unless
/// `env` sets it: every test host shares two busy cores with the other
/// checks of its binary, and at the product's 10 ms a typing indicator or
/// reply a few milliseconds late for its slot is skipped or queued.
pub fn settings_with(data_dir: &Path, env: &[(&str, String)]) -> Settings {
    let mut with_jitter = vec![("NUDGE_RATE_JITTER_MS", RIG_JITTER_MS.to_owned())];
    with_jitter.extend(env.iter().cloned());
    let mut settings = Settings::from_env(&TestEnv(&with_jitter)).expect("test settings are valid");
    settings.port = 0;
    settings.data_dir = data_dir.to_owned();
    settings
}

/// A test's environment, read the way the process environment is.
pub struct TestEnv<'a>(pub &'a [(&'a str, String)]);

impl Env for TestEnv<'_> {
    /// The last value given for `name`, so a later entry overrides.
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .rfind(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    }
}

/// Starts the local host in this process. Its logs go to the test's
/// captured output, shown when the test fails.
pub async fn start_in_process(settings: &Settings) -> LocalHost {
    start_bot_in_process(settings, Arc::new(Commands)).await
}

/// [`start_in_process`] with `handler` as the bot's logic for each turn.
pub async fn start_bot_in_process(settings: &Settings, handler: Arc<dyn TurnHandler>) -> LocalHost {
    start_custom_in_process(settings, |assembly| assembly.with_turn_handler(handler)).await
}

/// [`start_in_process`] with the assembly `customize`d
/// ([`LocalHost::start_custom`]).
pub async fn start_custom_in_process(
    settings: &Settings,
    customize: impl FnOnce(Assembly) -> Assembly,
) -> LocalHost {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("NUDGE_LOG").unwrap_or_else(|_| "info,nudge=debug".to_owned()),
        )
        .with_test_writer()
        .try_init();
    LocalHost::start_custom(settings, customize)
        .await
        .expect("local host starts")
}

/// One test's own in-process host on a fresh data directory, with a fake
/// channel and a client that talks as that channel.
pub struct Harness {
    pub channel: FakeChannel,
    pub client: BotClient,
    pub host: LocalHost,
    _data: DataDir,
}

impl Harness {
    pub async fn start(name: &str) -> Harness {
        Self::start_with(name, &[]).await
    }

    /// A harness whose host reads these variables as well.
    pub async fn start_with(name: &str, env: &[(&str, String)]) -> Harness {
        Self::start_bot(name, env, Arc::new(Commands)).await
    }

    /// A harness whose host runs `handler` as the bot's logic for each turn.
    pub async fn start_bot(
        name: &str,
        env: &[(&str, String)],
        handler: Arc<dyn TurnHandler>,
    ) -> Harness {
        Self::start_custom(name, env, |assembly| assembly.with_turn_handler(handler)).await
    }

    /// A harness whose host's assembly is `customize`d.
    pub async fn start_custom(
        name: &str,
        env: &[(&str, String)],
        customize: impl FnOnce(Assembly) -> Assembly,
    ) -> Harness {
        let data = DataDir::new(name);
        let channel = FakeChannel::start().await;
        let host = start_custom_in_process(&settings_with(data.path(), env), customize).await;
        let client = BotClient::new(base_url(&host), channel.service_url());
        Harness {
            channel,
            client,
            host,
            _data: data,
        }
    }
}

/// Waits until the delivery of notification `id` has a final record, and
/// returns it; panics after `timeout`.
pub async fn final_delivery(
    host: &LocalHost,
    id: &nudge::ids::NotificationId,
    timeout: Duration,
) -> nudge::store::DeliveryRecord {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let record = host.store().get_delivery(id).await.expect("read delivery");
        if let Some(record) = record.filter(|r| r.status.is_final()) {
            // Give the loop a moment to delete the message.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no final delivery record for {id} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The base URL of an in-process host.
pub fn base_url(host: &LocalHost) -> String {
    format!("http://127.0.0.1:{}", host.addr().port())
}

/// Where cargo put the workspace's binaries: next to this test's `deps`,
/// or, for a binary of this package (the benchmark), next to it.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let parent = exe.parent().expect("the executable's directory");
    let dir = if parent.file_name().is_some_and(|n| n == "deps") {
        parent.parent().expect("target profile directory")
    } else {
        parent
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`), \
         as scripts/test does",
        path.display()
    );
    path
}

/// The real `nudge serve` binary, running.
pub struct HostProcess {
    child: Child,
    pub port: u16,
}

impl HostProcess {
    /// Starts `nudge serve --port 0` on `data_dir` and waits until it says
    /// where it listens.
    pub async fn start(data_dir: &Path) -> HostProcess {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts it with these environment variables set as well.
    pub async fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> HostProcess {
        let mut child = Command::new(binary("nudge"))
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .env_remove("MicrosoftAppId")
            .env_remove("NUDGE_WEBHOOK_SECRETS")
            .env_remove("NUDGE_WEBHOOK_API_KEYS")
            .env_remove("NUDGE_TRUSTED_SERVICE_HOSTS")
            .env("NUDGE_LOG", "warn")
            .env("NUDGE_RATE_JITTER_MS", RIG_JITTER_MS)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn nudge");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("http://localhost:").nth(1) {
                    let port = rest.split('/').next().unwrap_or_default();
                    return port.parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("nudge printed its listening address");
        HostProcess { child, port }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Asks the process to stop (SIGTERM) and waits for it to exit.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("nudge stops within 30 s")
            .expect("wait for nudge");
        assert!(status.success(), "nudge exited with {status}");
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
