//! A broadcast to 10,000 stored conversations, end to end on the local
//! host: the request is answered at once (one enqueue, however large the
//! audience), the notifier expands it page by page, and every conversation
//! receives the message exactly once. Prints how long each part took.
//!
//! The conversations are written straight into the host's store (through
//! `LocalHost::store()`), which is what thousands of users writing to the
//! bot would have left there, in a fraction of the time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;
use nudge::activity::ChannelAccount;
use nudge::ids::ConversationKey;
use nudge::service_url::Provenance;
use nudge::store::{Store, StoreError, StoredReference};
use nudge_tests::api::ApiHarness;
use serde_json::json;

const AUDIENCE: usize = 10_000;

/// A reference as a user writing to the bot would leave it: the minimal one,
/// with the user and the bot named.
fn reference(key: &ConversationKey, service_url: &str) -> StoredReference {
    let mut stored = StoredReference::minimal(key, service_url, Provenance::default());
    stored.reference.user = Some(ChannelAccount {
        id: format!("user-{}", key.conversation_id()),
        ..Default::default()
    });
    stored.reference.bot = Some(ChannelAccount {
        id: "bot-nudge".into(),
        ..Default::default()
    });
    stored
}

/// Stores `AUDIENCE` subscribed conversations.
async fn seed(store: &dyn Store, service_url: &str) -> Result<(), StoreError> {
    stream::iter(0..AUDIENCE)
        .map(|n| async move {
            let key = ConversationKey::new("emulator", &format!("fan-{n:05}")).expect("a key");
            store.save_reference(&reference(&key, service_url)).await?;
            store
                .subscribe(&key, None, Timestamp::now())
                .await
                .map(drop)
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_ten_thousand_conversations_reaches_each_exactly_once() {
    let s = ApiHarness::start_with(
        "fanout-10k",
        &[
            ("NUDGE_NOTIFIER_CONCURRENCY", "64".into()),
            // The fan-out is under test, not the bot-wide throttle (at
            // Teams' 50 a second, 10,000 sends take over three minutes).
            ("NUDGE_BOT_RATE_LIMIT", "0".into()),
        ],
        |settings| settings.notifier.fanout_page = 500,
    )
    .await;
    let started = Instant::now();
    seed(s.host.store().as_ref(), s.channel.service_url())
        .await
        .expect("seeding the store");
    let seeded = started.elapsed();

    let asked = Instant::now();
    let answer = s
        .api
        .post(
            "/api/notify",
            &json!({"target": {"kind": "subscribers"}, "text": "to everyone"}),
        )
        .await;
    let accepted = asked.elapsed();
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["recipients"], AUDIENCE);
    let id = answer.body["notificationId"].as_str().unwrap().to_owned();
    let status = s.until_complete(&id, Duration::from_secs(120)).await;
    let delivered = asked.elapsed();
    assert_eq!(status["counts"]["sent"], AUDIENCE, "{}", status["counts"]);

    let mut per_conversation: HashMap<String, usize> = HashMap::new();
    for received in s.channel.received() {
        if received.text() == "to everyone" {
            *per_conversation
                .entry(received.conversation_id)
                .or_default() += 1;
        }
    }
    assert_eq!(
        per_conversation.len(),
        AUDIENCE,
        "every conversation reached"
    );
    let doubles: Vec<_> = per_conversation.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubles.is_empty(), "sent more than once: {doubles:?}");
    println!(
        "fan-out to {AUDIENCE} conversations: seeded in {:.1} s; request answered in {} ms; \
         all delivered in {:.1} s ({:.0} per second)",
        seeded.as_secs_f64(),
        accepted.as_millis(),
        delivered.as_secs_f64(),
        AUDIENCE as f64 / delivered.as_secs_f64()
    );
    s.host.stop().await;
}
