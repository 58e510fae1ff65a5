//! Reminders across restarts of the real `nudge` binary on one data
//! directory: a reminder that fell due while the host was down fires once
//! when it is back, late; pending ones survive; a cancel sticks; a crash
//! (SIGKILL) loses nothing either.

use std::time::{Duration, Instant};

use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::host::{DataDir, HostProcess};

const WAIT: Duration = Duration::from_secs(15);

fn count(channel: &FakeChannel, text: &str) -> usize {
    channel
        .texts("keep")
        .iter()
        .filter(|t| t.as_str() == text)
        .count()
}

async fn ask(channel: &FakeChannel, client: &BotClient, text: &str, expect: &str) -> String {
    client.ask(channel, "keep", text, expect).await
}

/// Starts the binary on `data`, with a client talking as `channel`.
async fn start(data: &DataDir, channel: &FakeChannel) -> (HostProcess, BotClient) {
    let host = HostProcess::start(data.path()).await;
    let client = BotClient::new(host.base_url(), channel.service_url());
    (host, client)
}

/// The id in "... Reminder id: <id> (say ...".
fn id_in(reply: &str) -> String {
    reply
        .split("Reminder id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no reminder id in {reply}"))
        .to_owned()
}

#[tokio::test]
async fn reminders_survive_restarts_and_crashes_and_fire_once() {
    let data = DataDir::new("reminder-restart");
    let channel = FakeChannel::start().await;

    let (host, client) = start(&data, &channel).await;
    let set_at = Instant::now();
    ask(
        &channel,
        &client,
        "remind me in 4 seconds to survive",
        "\"survive\"",
    )
    .await;
    ask(
        &channel,
        &client,
        "remind me every day at 9:00 to stand up",
        "\"stand up\"",
    )
    .await;
    let later = id_in(
        &ask(
            &channel,
            &client,
            "remind me in 2 hours to later",
            "\"later\"",
        )
        .await,
    );
    host.stop().await;
    assert_eq!(
        count(&channel, "Reminder: survive"),
        0,
        "stopped before it was due"
    );

    // Due while the host is down.
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(set_at.elapsed())).await;
    let (host, client) = start(&data, &channel).await;
    channel
        .wait_for_text("keep", "Reminder: survive", WAIT)
        .await;
    let listing = ask(&channel, &client, "reminders", "Pending reminders").await;
    assert!(
        listing.contains("stand up") && listing.contains("later") && !listing.contains("survive"),
        "{listing}"
    );
    ask(&channel, &client, &format!("cancel {later}"), "Cancelled").await;
    ask(
        &channel,
        &client,
        "remind me in 3 seconds to outlive a crash",
        "\"outlive",
    )
    .await;
    host.kill().await;

    let (host, client) = start(&data, &channel).await;
    channel
        .wait_for_text("keep", "Reminder: outlive a crash", WAIT)
        .await;
    let listing = ask(&channel, &client, "reminders", "Pending reminders").await;
    assert!(
        listing.contains("stand up") && !listing.contains("later"),
        "the cancel stuck: {listing}"
    );
    // A few more ticks of the restarted host.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&channel, "Reminder: survive"), 1);
    assert_eq!(count(&channel, "Reminder: outlive a crash"), 1);
    assert_eq!(count(&channel, "Reminder: later"), 0);
    host.stop().await;
}
