//! `examples/custom-bot`, a different bot built on the library, end to end
//! on the local host: its own commands answered in the turn, its
//! notifications delivered by nudge's notifier, and nudge's framework work
//! (the conversation's reference) done around it; and a delivery hook of
//! the library user's own deciding what a custom reason's delivery does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use nudge::async_trait;
use nudge::delivery::{BeforeSend, DeliveryHook};
use nudge::ids::ConversationKey;
use nudge::notification::{Notification, Reason};
use nudge::store::{DeliveryRecord, DeliveryStatus, StoreError};
use nudge_example_custom_bot::Countdown;
use nudge_tests::host::Harness;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn the_countdown_bot_answers_in_the_turn_and_counts_down_proactively() {
    let s = Harness::start_bot("custom-bot", &[], Arc::new(Countdown)).await;

    assert_eq!(s.client.say("launch", "hello").await, 200);
    let usage = s
        .channel
        .wait_for_text("launch", "count down to liftoff", WAIT)
        .await;
    assert!(!usage.is_proactive(), "its own usage text, as a reply");
    assert!(
        !s.channel
            .texts("launch")
            .iter()
            .any(|t| t.contains("run <")),
        "nudge's commands are not answered: the handler replaced them"
    );

    let asked = tokio::time::Instant::now();
    assert_eq!(s.client.say("launch", "countdown 2").await, 200);
    let started = s
        .channel
        .wait_for_text("launch", "Counting down from 2.", WAIT)
        .await;
    assert!(
        !started.is_proactive(),
        "the first step is the turn's reply"
    );
    let one = s.channel.wait_for_text("launch", "T-minus 1", WAIT).await;
    let liftoff = s.channel.wait_for_text("launch", "Liftoff!", WAIT).await;
    for step in [&one, &liftoff] {
        assert!(step.is_proactive(), "later steps come from the notifier");
    }
    assert!(
        one.arrived >= asked + Duration::from_secs(1),
        "\"T-minus 1\" waited for its time (a second after the turn)"
    );
    assert!(liftoff.arrived > one.arrived, "in order");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.channel.count_containing("launch", "Liftoff!"), 1, "once");

    let key = ConversationKey::new("emulator", "launch").unwrap();
    let stored = s.host.store().get_reference(&key).await.unwrap();
    assert!(
        stored.is_some_and(|r| r.active),
        "nudge stored the conversation's reference before the handler ran"
    );
    s.host.stop().await;
}

/// A library user's delivery hook for the countdown's custom reason:
/// scrubs the launch (refuses the "Liftoff!" step) and keeps the outcome of
/// every step it is told of.
#[derive(Default)]
struct Scrub {
    outcomes: Mutex<Vec<(u64, DeliveryStatus)>>,
}

fn countdown_step(notification: &Notification) -> Option<u64> {
    match &notification.reason {
        Reason::Custom { name, data } if name == "countdown" => data["left"].as_u64(),
        _ => None,
    }
}

#[async_trait]
impl DeliveryHook for Scrub {
    async fn before_send(
        &self,
        notification: &Notification,
        _now: Timestamp,
    ) -> Result<BeforeSend, StoreError> {
        Ok(match countdown_step(notification) {
            Some(0) => BeforeSend::Refuse("launch scrubbed".into()),
            _ => BeforeSend::Send,
        })
    }

    async fn after_outcome(
        &self,
        notification: &Notification,
        record: &DeliveryRecord,
    ) -> Result<(), StoreError> {
        if let Some(left) = countdown_step(notification) {
            self.outcomes.lock().unwrap().push((left, record.status));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_delivery_hook_decides_the_custom_reasons_delivery() {
    let scrub = Arc::new(Scrub::default());
    let hook = scrub.clone();
    let s = Harness::start_custom("custom-hook", &[], move |assembly| {
        assembly
            .with_turn_handler(Arc::new(Countdown))
            .with_delivery_hook(hook)
    })
    .await;
    assert_eq!(s.client.say("pad", "countdown 1").await, 200);
    s.channel
        .wait_for_text("pad", "Counting down from 1.", WAIT)
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while scrub.outcomes.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the hook was told");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        *scrub.outcomes.lock().unwrap(),
        [(0, DeliveryStatus::Failed)],
        "refused by the hook, and told of the outcome once"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.channel.count_containing("pad", "Liftoff!"),
        0,
        "nothing reached the chat"
    );
    s.host.stop().await;
}
