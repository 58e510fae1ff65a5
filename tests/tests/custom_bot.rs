//! `examples/custom-bot`, a different bot built on the library, end to end
//! on the local host: its own commands answered in the turn, its
//! notifications delivered by nudge's notifier, and nudge's framework work
//! (the conversation's reference) done around it.

use std::sync::Arc;
use std::time::Duration;

use nudge::ids::ConversationKey;
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
