//! The real `nudge` binary, stopped and started on the same data directory:
//! nothing stored or queued is lost, and nothing is delivered twice.

use std::time::Duration;

use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::host::{DataDir, HostProcess};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn pending_notifications_survive_a_restart_and_arrive_once() {
    let data = DataDir::new("restart");
    let channel = FakeChannel::start().await;

    let host = HostProcess::start(data.path()).await;
    let client = BotClient::new(host.base_url(), channel.service_url());
    client.say("keep", "subscribe").await;
    channel
        .wait_for_text("keep", "You're subscribed", WAIT)
        .await;
    client.say("keep", "run 4").await;
    let started = channel
        .wait_for_text("keep", "We're starting job", WAIT)
        .await;
    let job = started.text().split_whitespace().nth(3).unwrap().to_owned();
    // Stop before the subscription notice (3 s) and the job (4 s) are due.
    host.stop().await;
    assert_eq!(
        channel.count_containing("keep", "You have been notified."),
        0
    );

    let host = HostProcess::start(data.path()).await;
    let client = BotClient::new(host.base_url(), channel.service_url());
    channel
        .wait_for_text("keep", &format!("Job {job} is complete."), WAIT)
        .await;
    channel
        .wait_for_text("keep", "You have been notified.", WAIT)
        .await;
    // The reference and the subscription survived too.
    let (_, body) = client.get("/api/notify").await;
    assert_eq!(body["recipients"], 1);
    channel.wait_for_text("keep", "proactive hello", WAIT).await;
    client.say("keep", "show").await;
    channel.wait_for_text("keep", "— complete", WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let texts = channel.texts("keep");
    assert_eq!(
        channel.count_containing("keep", "is complete."),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        channel.count_containing("keep", "You have been notified."),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        channel.count_containing("keep", "proactive hello"),
        1,
        "{texts:#?}"
    );
    host.stop().await;
}

#[tokio::test]
async fn a_crashed_host_delivers_what_was_pending_after_it_comes_back() {
    let data = DataDir::new("crash");
    let channel = FakeChannel::start().await;
    let host = HostProcess::start(data.path()).await;
    let client = BotClient::new(host.base_url(), channel.service_url());
    client.say("crash", "run 3").await;
    let started = channel
        .wait_for_text("crash", "We're starting job", WAIT)
        .await;
    let job = started.text().split_whitespace().nth(3).unwrap().to_owned();
    host.kill().await;

    let host = HostProcess::start(data.path()).await;
    channel
        .wait_for_text("crash", &format!("Job {job} is complete."), WAIT)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(channel.count_containing("crash", "is complete."), 1);
    host.stop().await;
}
