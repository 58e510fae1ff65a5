//! Server-side request forgery, end to end: nothing makes nudge call a
//! service URL that neither a Bot Connector token vouched for nor the
//! allow-list names. Each test has a second fake channel playing the
//! attacker's server and checks that it receives nothing at all (so no
//! message and no token).

use std::time::Duration;

use nudge::activity::{Activity, ChannelAccount, ConversationAccount};
use nudge::ids::ConversationKey;
use nudge::notification::{enqueue, Notification, Reason};
use nudge::store::DeliveryStatus;
use nudge_tests::channel::FakeChannel;
use nudge_tests::client::BotClient;
use nudge_tests::host::{base_url, final_delivery, settings_with, start_in_process, DataDir};
use nudge_tests::openid::{channel_bearer, emulator_bearer};
use nudge_tests::secured::SecuredHarness;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// `127.0.0.1:port` of a fake channel: an allow-list entry for it alone.
fn host_of(channel: &FakeChannel) -> String {
    channel
        .service_url()
        .trim_start_matches("http://")
        .to_owned()
}

/// A host without an app id, the channel it serves, and an attacker's
/// server that must receive nothing.
struct Scene {
    channel: FakeChannel,
    attacker: FakeChannel,
    host: nudge::local::LocalHost,
    client: BotClient,
    _data: DataDir,
}

/// `only_the_channel`: trust the channel's host alone, not all of loopback.
async fn scene(name: &str, only_the_channel: bool) -> Scene {
    let data = DataDir::new(name);
    let channel = FakeChannel::start().await;
    let attacker = FakeChannel::start().await;
    let mut env = Vec::new();
    if only_the_channel {
        env.push(("NUDGE_TRUSTED_SERVICE_HOSTS", host_of(&channel)));
    }
    let host = start_in_process(&settings_with(data.path(), &env)).await;
    let client = BotClient::new(base_url(&host), channel.service_url());
    Scene {
        channel,
        attacker,
        host,
        client,
        _data: data,
    }
}

async fn notify(
    host: &nudge::local::LocalHost,
    conversation: &str,
    activity: Activity,
) -> Notification {
    let key = ConversationKey::new("emulator", conversation).unwrap();
    let notification = Notification::to_conversation(key, activity, Reason::Broadcast);
    enqueue(host.queue(), std::slice::from_ref(&notification))
        .await
        .unwrap();
    notification
}

#[tokio::test]
async fn a_queued_notification_cannot_redirect_a_message() {
    let s = scene("ssrf-redirect", false).await;
    assert_eq!(s.client.say("victim", "help").await, 200);
    s.channel
        .wait_for_text("victim", "Here's what you can say", WAIT)
        .await;

    // Addressing in the notification is ignored: the stored reference wins.
    let mut activity = Activity::message("for the victim only");
    activity.service_url = Some(s.attacker.service_url().to_owned());
    activity.conversation = Some(ConversationAccount {
        id: "attacker-conversation".into(),
        ..Default::default()
    });
    activity.recipient = Some(ChannelAccount {
        id: "attacker".into(),
        ..Default::default()
    });
    let notification = notify(&s.host, "victim", activity).await;
    let record = final_delivery(&s.host, &notification.id, WAIT).await;
    assert_eq!(record.status, DeliveryStatus::Sent);
    let sent = s
        .channel
        .wait_for_text("victim", "for the victim only", WAIT)
        .await;
    assert_eq!(sent.activity.recipient.unwrap().id, "user-victim");
    assert!(s.attacker.received().is_empty());
    s.host.stop().await;
}

#[tokio::test]
async fn an_unverified_service_url_off_the_list_is_never_called() {
    let Scene {
        channel,
        attacker,
        host,
        client: trusted,
        _data,
    } = scene("ssrf-unlisted", true).await;
    let forged = BotClient::new(base_url(&host), attacker.service_url());

    // The listed channel works; the other is answered 200 (the activity was
    // fine) but nothing goes back to it, in the turn or later.
    assert_eq!(trusted.say("listed", "help").await, 200);
    channel
        .wait_for_text("listed", "Here's what you can say", WAIT)
        .await;
    assert_eq!(forged.say("unlisted", "help").await, 200);
    let notification = notify(&host, "unlisted", Activity::message("hello?")).await;
    let record = final_delivery(&host, &notification.id, WAIT).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1, "refusals are not retried");
    assert!(
        record
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("not a trusted service URL")),
        "{record:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(attacker.received().is_empty());
    // Not even a connection (the one a timed send opens ahead of itself).
    assert_eq!(attacker.connections(), 0);
    host.stop().await;
}

#[tokio::test]
async fn a_service_url_the_connector_signed_is_trusted_and_no_other_is() {
    // Loopback is not on this host's list: only provenance can make the
    // fake channel reachable.
    let s = SecuredHarness::start(
        "ssrf-provenance",
        &[("NUDGE_TRUSTED_SERVICE_HOSTS", "default".to_owned())],
    )
    .await;
    let url = s.channel.service_url().to_owned();
    let (status, _) = s
        .client
        .post_activity_as(&s.client.message("signed", "help"), &channel_bearer(&url))
        .await;
    assert_eq!(status, 200);
    let reply = s
        .channel
        .wait_for_text("signed", "Here's what you can say", WAIT)
        .await;
    assert_eq!(reply.authorization.as_deref(), Some("Bearer token-1"));
    let proactive = notify(&s.host, "signed", Activity::message("later")).await;
    assert_eq!(
        final_delivery(&s.host, &proactive.id, WAIT).await.status,
        DeliveryStatus::Sent
    );

    // An Emulator token is the bot's own credential and names no service
    // URL: the activity is accepted, its URL is not trusted.
    let (status, _) = s
        .client
        .post_activity_as(&s.client.message("emulated", "help"), &emulator_bearer())
        .await;
    assert_eq!(status, 200);
    let refused = notify(&s.host, "emulated", Activity::message("never")).await;
    assert_eq!(
        final_delivery(&s.host, &refused.id, WAIT).await.status,
        DeliveryStatus::Failed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.channel.texts("emulated").is_empty());
    assert_eq!(s.channel.texts("signed").len(), 2);
    s.host.stop().await;
}

#[tokio::test]
async fn a_webhook_cannot_name_where_its_message_goes() {
    let s = scene("ssrf-webhook", false).await;
    s.client.say("sub", "subscribe").await;
    s.channel
        .wait_for_text("sub", "You're subscribed", WAIT)
        .await;
    for body in [
        json!({"text": "hi", "serviceUrl": s.attacker.service_url()}),
        json!({"text": "hi", "conversation": {"id": "x"}}),
    ] {
        let (status, answer) = s.client.post_raw("/api/notify", body.to_string()).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "InvalidBody");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.attacker.received().is_empty());
    s.host.stop().await;
}
