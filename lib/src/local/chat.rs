//! `nudge chat`: talk to a running bot from a terminal.
//!
//! It plays the channel's part: it listens as a tiny Bot Connector endpoint
//! (the `serviceUrl` of its activities), sends what you type to the bot's
//! `/api/messages` as message activities, and prints every activity the bot
//! sends back, replies and proactive messages alike. Its port is fixed by
//! default, so conversations stored by the bot stay reachable when the
//! console is restarted.

use std::io::Write;
use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::activity::{kind, Activity};

/// Where the console is and whom it talks to.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// The bot's messages endpoint.
    pub bot_url: String,
    /// The port the console's channel endpoint listens on (0: any).
    pub port: u16,
    /// The conversation's id.
    pub conversation: String,
    /// The user's id and name.
    pub user: String,
}

/// Why the chat console stopped.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Its channel endpoint cannot listen.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// Why not.
        source: std::io::Error,
    },
    /// The terminal could not be read.
    #[error("reading the terminal failed: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the console until end of input or `/quit`.
pub async fn run(options: ChatOptions) -> Result<(), ChatError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|source| ChatError::Bind {
            port: options.port,
            source,
        })?;
    let addr = listener.local_addr()?;
    let channel = Router::new()
        .route(
            "/v3/conversations/{conversation}/activities",
            post(proactive),
        )
        .route(
            "/v3/conversations/{conversation}/activities/{activity}",
            post(reply),
        );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, channel).await;
    });
    let console = Console::new(options, addr);
    println!(
        "Talking to {} as {} in conversation `{}`. Type a message; /quit to leave.",
        console.options.bot_url, console.options.user, console.options.conversation
    );
    console.join().await;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    prompt();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line == "/quit" {
            break;
        }
        if !line.is_empty() {
            console.say(line).await;
        }
        prompt();
    }
    server.abort();
    Ok(())
}

fn prompt() {
    print!("> ");
    let _ = std::io::stdout().flush();
}

struct Console {
    options: ChatOptions,
    service_url: String,
    http: reqwest::Client,
}

impl Console {
    fn new(options: ChatOptions, addr: SocketAddr) -> Self {
        Console {
            options,
            service_url: format!("http://{addr}"),
            http: crate::fetch::client_builder()
                .build()
                .expect("the HTTP client's TLS backend starts"),
        }
    }

    fn activity(&self, kind: &str) -> Value {
        json!({
            "type": kind,
            "id": crate::ids::random_token(12),
            "timestamp": jiff::Timestamp::now().to_string(),
            "channelId": "console",
            "serviceUrl": self.service_url,
            "from": {"id": self.options.user, "name": self.options.user, "role": "user"},
            "recipient": {"id": "nudge", "name": "nudge", "role": "bot"},
            "conversation": {"id": self.options.conversation},
            "localTimezone": local_time_zone(),
        })
    }

    /// Announces the user joining, as channels do, so the bot greets them.
    async fn join(&self) {
        let mut update = self.activity(kind::CONVERSATION_UPDATE);
        update["membersAdded"] = json!([
            {"id": "nudge", "name": "nudge"},
            {"id": self.options.user, "name": self.options.user}
        ]);
        self.post(&update).await;
    }

    async fn say(&self, text: &str) {
        let mut message = self.activity(kind::MESSAGE);
        message["text"] = json!(text);
        self.post(&message).await;
    }

    async fn post(&self, activity: &Value) {
        match self
            .http
            .post(&self.options.bot_url)
            .json(activity)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                println!("\n(the bot answered {status}: {})", printable(&body));
            }
            Err(error) => println!("\n(could not reach {}: {error})", self.options.bot_url),
        }
    }
}

/// The machine's IANA time zone, so reminders use local times.
fn local_time_zone() -> Option<String> {
    jiff::tz::TimeZone::system().iana_name().map(str::to_owned)
}

async fn reply(
    Path((_, _)): Path<(String, String)>,
    Json(activity): Json<Activity>,
) -> (StatusCode, Json<Value>) {
    show(&activity, false);
    accepted()
}

async fn proactive(
    Path(_): Path<String>,
    Json(activity): Json<Activity>,
) -> (StatusCode, Json<Value>) {
    show(&activity, true);
    accepted()
}

fn accepted() -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({"id": crate::ids::random_token(12)})),
    )
}

fn show(activity: &Activity, proactive: bool) {
    let line = if activity.is(kind::TYPING) {
        "nudge is typing…".to_owned()
    } else {
        let text = activity.text.as_deref().unwrap_or_default();
        let cards = activity.attachments.as_ref().map_or(0, Vec::len);
        let extra = if cards > 0 {
            format!(" [{cards} attachment(s)]")
        } else {
            String::new()
        };
        let tag = if proactive { " (proactive)" } else { "" };
        format!("nudge{tag}: {}{extra}", printable(text))
    };
    print!("\r{line}\n> ");
    let _ = std::io::stdout().flush();
}

/// `text` safe to print on a terminal: what a message says, never what it
/// could make the terminal do. Control characters (escape sequences that
/// move the cursor, rewrite the title or the clipboard, clear the screen;
/// a carriage return that overwrites the line) and the bidirectional
/// overrides that reorder what is shown are printed as escapes (`\u{1b}`);
/// line breaks and tabs stay, as message text uses them.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if crate::telemetry::is_unsafe_char(c) && c != '\n' && c != '\t' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(printable("plain\nline\tok"), "plain\nline\tok");
        assert_eq!(
            printable("\u{1b}[2J\u{1b}]0;pwned\u{7}x\ry"),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}x\\u{d}y"
        );
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m", "C1 CSI");
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b", "bidi override");
        assert_eq!(printable("héllo 👋"), "héllo 👋");
    }
}
