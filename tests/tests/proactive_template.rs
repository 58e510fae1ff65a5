//! The Azure Bot Service proactive template's queue messages,
//! `{"relatesTo": <ConversationReference>, "text": "..."}`, dropped straight
//! on the local host's queue: delivered through the notifier like any
//! notification when the reference's service URL is on the allow-list,
//! refused (recorded as failed, nothing sent) when it is not, and sent once
//! however often the queue delivers the same message.

use std::time::Duration;

use nudge::notification::Notification;
use nudge::queue::{OutgoingMessage, Queue};
use nudge::store::DeliveryStatus;
use nudge_tests::channel::FakeChannel;
use nudge_tests::host::{final_delivery, settings_with, start_in_process, DataDir};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn template(service_url: &str, conversation: &str, text: &str) -> String {
    json!({
        "relatesTo": {
            "activityId": "1234",
            "user": {"id": "user-1", "name": "Ann"},
            "bot": {"id": "bot-1", "name": "nudge"},
            "conversation": {"id": conversation},
            "channelId": "msteams",
            "serviceUrl": service_url
        },
        "text": text
    })
    .to_string()
}

async fn drop_on_queue(queue: &dyn Queue, body: &str) {
    let message = OutgoingMessage {
        body: body.to_owned(),
        delay: Duration::ZERO,
    };
    queue.send(vec![message]).await.expect("send to the queue");
}

#[tokio::test]
async fn a_template_message_is_delivered_only_to_a_trusted_service_url() {
    let data = DataDir::new("proactive-template");
    let trusted = FakeChannel::start().await;
    let untrusted = FakeChannel::start().await;
    let allowed = trusted
        .service_url()
        .trim_start_matches("http://")
        .to_owned();
    let env = [("NUDGE_TRUSTED_SERVICE_HOSTS", allowed)];
    let host = start_in_process(&settings_with(data.path(), &env)).await;

    let good = template(trusted.service_url(), "19:room", "from the template");
    drop_on_queue(host.queue(), &good).await;
    drop_on_queue(host.queue(), &good).await;
    let got = trusted
        .wait_for_text("19:room", "from the template", WAIT)
        .await;
    assert!(got.is_proactive());
    assert_eq!(
        got.activity.recipient.as_ref().map(|r| r.id.as_str()),
        Some("user-1")
    );
    assert_eq!(
        got.activity.from.as_ref().map(|r| r.id.as_str()),
        Some("bot-1")
    );
    let id = Notification::from_queue_body(&good).unwrap().id;
    let record = final_delivery(&host, &id, WAIT).await;
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(
        record.conversation.map(|k| k.to_string()).as_deref(),
        Some("msteams#19:room")
    );

    let bad = template(untrusted.service_url(), "19:elsewhere", "must not arrive");
    drop_on_queue(host.queue(), &bad).await;
    let id = Notification::from_queue_body(&bad).unwrap().id;
    let record = final_delivery(&host, &id, WAIT).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("not a trusted service URL"),
        "{record:?}"
    );
    assert_eq!(record.attempts, 1, "refused for good, not retried");
    assert!(untrusted.received().is_empty());

    // The second copy finds the delivery finished (or, taken at the same
    // moment, claimed, and comes back later to find it finished).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(trusted.texts("19:room").len(), 1, "queued twice, sent once");
    host.stop().await;
}
