//! `nudge chat`, the console channel, against the real `nudge serve`: what
//! a newcomer types reaches the bot, and replies and proactive messages come
//! back to the terminal.

use std::process::Stdio;
use std::time::Duration;

use nudge_tests::host::{binary, DataDir, HostProcess};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

/// Quits the console and reads what it showed; it must exit cleanly.
async fn screen_after_quit(chat: Child, stdin: &mut ChildStdin) -> String {
    stdin.write_all(b"/quit\n").await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(20), chat.wait_with_output())
        .await
        .expect("chat exits after /quit")
        .expect("chat output");
    let screen = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{screen}");
    screen
}

/// `nudge chat` in `conversation`, talking to `host`.
fn console(host: &HostProcess, conversation: &str) -> Child {
    Command::new(binary("nudge"))
        .args([
            "chat",
            "--port",
            "0",
            "--conversation",
            conversation,
            "--bot",
        ])
        .arg(format!("{}/api/messages", host.base_url()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn nudge chat")
}

#[tokio::test]
async fn the_console_shows_replies_and_proactive_messages() {
    let data = DataDir::new("chat");
    let host = HostProcess::start(data.path()).await;
    let mut chat = console(&host, "term");
    let mut stdin = chat.stdin.take().expect("stdin");
    // As a person would, a moment after the welcome: a typing indicator
    // goes only when the conversation has a free slot at once (the
    // welcome's slot paces the next send by 142 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;
    stdin.write_all(b"run 1\n").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let screen = screen_after_quit(chat, &mut stdin).await;
    assert!(screen.contains("nudge: Welcome, you!"), "{screen}");
    assert!(screen.contains("nudge is typing…"), "{screen}");
    assert!(screen.contains("We're starting job"), "{screen}");
    assert!(screen.contains("nudge (proactive): Job"), "{screen}");
    host.stop().await;
}

#[tokio::test]
async fn the_console_shows_escape_sequences_instead_of_obeying_them() {
    let data = DataDir::new("chat-escapes");
    let host = HostProcess::start(data.path()).await;
    let mut chat = console(&host, "esc");
    let mut stdin = chat.stdin.take().expect("stdin");
    stdin.write_all(b"help\n").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A message whose text would clear the screen and retitle the window.
    let text = "before\u{1b}[2J\u{1b}]0;pwned\u{7}\rafter";
    let answer = nudge_tests::http::client()
        .post(format!("{}/api/notify", host.base_url()))
        .json(&serde_json::json!({
            "target": {"kind": "conversation", "channelId": "console", "conversationId": "esc"},
            "text": text
        }))
        .send()
        .await
        .expect("notify");
    assert_eq!(answer.status(), 202);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let screen = screen_after_quit(chat, &mut stdin).await;
    assert!(
        screen.contains(r"before\u{1b}[2J\u{1b}]0;pwned\u{7}\u{d}after"),
        "{screen}"
    );
    assert!(
        !screen.contains('\u{1b}'),
        "no raw escape reached the terminal"
    );
    host.stop().await;
}
