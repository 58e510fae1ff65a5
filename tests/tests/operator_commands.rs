//! The local binary's operator commands against a data directory:
//! `nudge dead-letters` lists what the notifier gave up on, with why;
//! `nudge redrive` moves it back; `nudge deliveries <id>` prints the
//! delivery records as JSON lines.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use jiff::Timestamp;
use nudge::ids::NotificationId;
use nudge::queue::embedded::EmbeddedQueue;
use nudge::queue::{OutgoingMessage, Queue};
use nudge::store::prelude::*;
use nudge::store::sqlite::SqliteStore;
use nudge::store::DeliveryClaim;
use nudge_tests::host::{binary, DataDir};
use serde_json::Value;

fn nudge(data: &Path, args: &[&str]) -> String {
    let output = Command::new(binary("nudge"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("MicrosoftAppId")
        .output()
        .expect("run nudge");
    assert!(output.status.success(), "nudge {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[tokio::test]
async fn dead_letters_are_listed_with_their_reason_and_redriven() {
    let data = DataDir::new("operator-dlq");
    let queue = EmbeddedQueue::open(&data.path().join("queue.db"), 10).expect("open the queue");
    queue
        .send(vec![OutgoingMessage {
            body: "{\"a\": 1}".into(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("send");
    let received = queue
        .receive(1, Duration::from_secs(30), Duration::ZERO)
        .await
        .expect("receive");
    queue
        .dead_letter(&received[0], "gave up after 8 attempts: 503")
        .await
        .expect("dead_letter");

    let listed = nudge(data.path(), &["dead-letters"]);
    assert!(listed.contains("gave up after 8 attempts: 503"), "{listed}");
    assert_eq!(
        nudge(data.path(), &["redrive"]).trim(),
        "1 dead letters moved back to the queue"
    );
    assert_eq!(nudge(data.path(), &["dead-letters"]), "");
    let back = queue
        .receive(1, Duration::from_secs(30), Duration::ZERO)
        .await
        .expect("receive");
    assert_eq!(back.len(), 1, "the message is back on the queue");
}

#[tokio::test]
async fn deliveries_prints_the_records_as_json_lines() {
    let data = DataDir::new("operator-deliveries");
    let store = SqliteStore::open(&data.path().join("store.db")).expect("open the store");
    let id = NotificationId::generate();
    let now = Timestamp::now();
    let DeliveryClaim::Proceed(record) = store
        .begin_delivery(&id, None, now, now)
        .await
        .expect("begin_delivery")
    else {
        panic!("a first claim proceeds");
    };
    let out = nudge(data.path(), &["deliveries", id.as_str()]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["notificationId"], id.as_str());
    assert_eq!(lines[0]["status"], "pending");
    assert_eq!(lines[0]["attempts"], record.attempts);
}
