//! The local binary's operator commands against a data directory:
//! `nudge dead-letters` lists what the notifier gave up on, with why;
//! `nudge redrive` moves it back; `nudge deliveries <id>` prints the
//! delivery records as JSON lines. With `--azure`, the first two work on a
//! Function App's poison queue instead.

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

/// Sends `body` to `queue` and dead-letters it as the notifier does when
/// it gives up.
async fn give_up_on(queue: &dyn Queue, body: &str) {
    queue
        .send(vec![OutgoingMessage {
            body: body.to_owned(),
            delay: Duration::ZERO,
        }])
        .await
        .expect("send");
    let received = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive");
    queue
        .dead_letter(&received[0], "gave up after 8 attempts: 503")
        .await
        .expect("dead_letter");
}

#[tokio::test]
async fn dead_letters_are_listed_with_their_reason_and_redriven() {
    let data = DataDir::new("operator-dlq");
    let queue = EmbeddedQueue::open(&data.path().join("queue.db"), 10).expect("open the queue");
    give_up_on(&queue, "{\"a\": 1}").await;

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

/// `--azure`: the same commands on a Function App's `<queue>-poison`, named
/// by the app's own settings (here Azurite's connection string): what the
/// notifier gave up on, with its reason, and what the host poisoned, without.
#[tokio::test]
async fn a_function_apps_poison_queue_is_listed_and_redriven_from_the_terminal() {
    let queue = nudge_tests::azurite::new_queue(5).await;
    let given_up = format!("{{\"given-up\": \"{}\"}}", nudge_tests::suites::unique("g"));
    give_up_on(&queue, &given_up).await;
    // The Functions host moves a message's text as it was.
    let poisoned = "{\"from\": \"the host\"}";
    nudge::queue::azure::AzureQueue::new(
        &nudge_tests::azurite::account(),
        &nudge::queue::azure::poison_name(queue.name()),
        nudge_tests::http::client(),
        None,
        u32::MAX,
    )
    .expect("a poison queue client")
    .send(vec![OutgoingMessage {
        body: poisoned.into(),
        delay: Duration::ZERO,
    }])
    .await
    .expect("poison a message as the host does");

    let azure = |args: &[&str]| {
        let output = Command::new(binary("nudge"))
            .args(args)
            .arg("--azure")
            .env_clear()
            .env(
                "AzureWebJobsStorage",
                nudge_tests::azurite::connection_string(),
            )
            .env("NUDGE_QUEUE_NAME", queue.name())
            .output()
            .expect("run nudge");
        assert!(output.status.success(), "nudge {args:?}: {output:?}");
        String::from_utf8(output.stdout).expect("utf-8 output")
    };
    let listed = azure(&["dead-letters"]);
    assert!(listed.contains("gave up after 8 attempts: 503"), "{listed}");
    assert!(
        listed.contains(&given_up) && listed.contains(poisoned),
        "{listed}"
    );
    assert_eq!(
        azure(&["redrive"]).trim(),
        "2 dead letters moved back to the queue"
    );
    assert_eq!(azure(&["dead-letters"]), "");
    let mut back: Vec<String> = queue
        .receive(10, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .expect("receive")
        .into_iter()
        .map(|m| m.body)
        .collect();
    back.sort();
    let mut expected = vec![given_up, poisoned.to_owned()];
    expected.sort();
    assert_eq!(back, expected);
}
