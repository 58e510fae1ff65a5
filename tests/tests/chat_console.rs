//! `nudge chat`, the console channel, against the real `nudge serve`: what
//! a newcomer types reaches the bot, and replies and proactive messages come
//! back to the terminal.

use std::process::Stdio;
use std::time::Duration;

use nudge_tests::host::{binary, DataDir, HostProcess};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

#[tokio::test]
async fn the_console_shows_replies_and_proactive_messages() {
    let data = DataDir::new("chat");
    let host = HostProcess::start(data.path()).await;
    let mut chat = Command::new(binary("nudge"))
        .args(["chat", "--port", "0", "--conversation", "term", "--bot"])
        .arg(format!("{}/api/messages", host.base_url()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn nudge chat");
    let mut stdin = chat.stdin.take().expect("stdin");
    stdin.write_all(b"run 1\n").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stdin.write_all(b"/quit\n").await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(20), chat.wait_with_output())
        .await
        .expect("chat exits after /quit")
        .expect("chat output");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(screen.contains("nudge: Welcome, you!"), "{screen}");
    assert!(screen.contains("nudge is typing…"), "{screen}");
    assert!(screen.contains("We're starting job"), "{screen}");
    assert!(screen.contains("nudge (proactive): Job"), "{screen}");
    host.stop().await;
}
