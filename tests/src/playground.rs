//! The Microsoft 365 Agents Playground (npm `@microsoft/m365agentsplayground`,
//! pinned in `scripts/playground`, installed by `scripts/test`): a local
//! Teams-like client that plays the Bot Connector for a bot. [`Playground`]
//! starts its CLI against a nudge host, with no browser, and drives it
//! through the HTTP routes its own web page uses: installing the app in a
//! conversation (`/_debug/conversation/{id}/installation`) and a user
//! writing (`/_conversation/v1/conversations/{id}/messages`). What the bot
//! sent it is read from the log it writes (`devTools/…log` under its
//! working directory), which records every Connector call with its answer.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::host::DataDir;

/// The tenant of the Playground's default configuration.
pub const TENANT: &str = "00000000-0000-0000-0000-0000000000001";
/// Its current user (Alex Wilber), who writes in its personal chat.
pub const ME: &str = "user-id-0";
/// Its team (whose id is its General channel's).
pub const TEAM: &str = "team-id";
/// The team's other channel.
pub const ANNOUNCEMENTS: &str = "channel-announcements-id";

/// A running Playground, stopped when dropped.
pub struct Playground {
    /// Its personal chat's id (made afresh at each start).
    pub personal_chat: String,
    child: Child,
    base_url: String,
    dir: DataDir,
    http: reqwest::Client,
}

impl Playground {
    /// Starts the Playground's CLI against the bot at `endpoint`
    /// (`http://…/api/messages`) as the Teams channel.
    pub async fn start(endpoint: &str) -> Playground {
        let cli = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts/playground/node_modules/.bin/agentsplayground");
        assert!(
            cli.exists(),
            "the Agents Playground is not installed at {}: scripts/test installs it \
             (or: npm ci --prefix scripts/playground)",
            cli.display()
        );
        let dir = DataDir::new("playground");
        let port = crate::server::free_port();
        let mut child = Command::new(&cli)
            .args(["-e", endpoint, "-c", "msteams", "--dt", "-p"])
            .arg(port.to_string())
            .current_dir(dir.path())
            // Opening a browser would fail here, and end the CLI.
            .env("TEAMSAPPTESTER_BROWSER", "none")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Agents Playground");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let listening = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read the CLI's output") {
                if let Some(port) = line.strip_prefix("Listening on ") {
                    return port.trim().parse::<u16>().expect("a port");
                }
            }
            panic!("the Agents Playground ended before listening");
        })
        .await
        .expect("the Agents Playground listens within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut playground = Playground {
            personal_chat: String::new(),
            child,
            base_url: format!("http://127.0.0.1:{listening}"),
            dir,
            http: crate::http::client(),
        };
        // Its page asks for the configuration first, and that makes it
        // connect to the bot, which it does before it takes requests.
        let config = format!("{}/_internal/v1/config", playground.base_url);
        let answer = playground.http.get(config).send().await.expect("config");
        assert_eq!(answer.status().as_u16(), 200);
        let config: Value = answer.json().await.expect("the configuration");
        playground.personal_chat = config["config"]["personalChat"]["id"]
            .as_str()
            .expect("a personal chat")
            .to_owned();
        for _ in 0..100 {
            if playground
                .log()
                .contains("about how to customize context information")
            {
                return playground;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the Agents Playground did not connect: {}",
            playground.log()
        );
    }

    /// Installs the app in `conversation`, as its "install" button does:
    /// the Playground sends the bot `installationUpdate` and
    /// `conversationUpdate`.
    pub async fn install(&self, conversation: &str) {
        let url = format!(
            "{}/_debug/conversation/{conversation}/installation",
            self.base_url
        );
        let answer = self.http.post(url).json(&json!({})).send().await;
        assert_eq!(answer.expect("install").status().as_u16(), 200);
    }

    /// `user` writes `text` in `conversation`.
    pub async fn say(&self, conversation: &str, user: &str, text: &str) {
        let url = format!(
            "{}/_conversation/v1/conversations/{conversation}/messages",
            self.base_url
        );
        let body = json!({"from": {"id": user}, "text": text, "textFormat": "plain"});
        let answer = self.http.post(url).json(&body).send().await.expect("say");
        assert_eq!(answer.status().as_u16(), 200, "{:?}", answer.text().await);
    }

    /// Everything the Playground logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("devTools/m365agentsplayground.log"))
            .unwrap_or_default()
    }

    /// The Connector calls the bot made, as logged: each the request's
    /// body and the Playground's answer (`statusCode`, `body`).
    pub fn bot_calls(&self) -> Vec<Value> {
        self.log()
            .lines()
            .filter_map(|line| line.split_once("buffering message: ").map(|(_, m)| m))
            .filter_map(|message| serde_json::from_str::<Value>(message).ok())
            .filter_map(|message| message.get("log").cloned())
            .filter(|log| log["from"] == "User Application")
            .collect()
    }

    /// The bot's messages whose text contains `needle`, in order.
    pub fn bot_messages(&self, needle: &str) -> Vec<Value> {
        self.bot_calls()
            .into_iter()
            .filter(|call| {
                call["request"]["body"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(needle))
            })
            .collect()
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
