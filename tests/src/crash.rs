//! The crash check, on whichever notifier host runs it: the local host's
//! binary (`tests/tests/crash.rs`) or one instance of the Lambda notifier
//! (`tests/tests/delivery_lambda.rs`), killed (SIGKILL) mid-batch while
//! its sends are in flight, then replaced.
//!
//! The channel answers slowly ([`LATENCY`]), so at any instant up to the
//! notifier's concurrency sends are in flight. After the restart every
//! notification must have reached the chat (nothing lost) and the only
//! doubles allowed are the sends the channel had accepted but not yet
//! answered when the process died ([`FakeChannel::unanswered`]): the
//! Connector API has no idempotency key, so no notifier can know whether
//! those arrived. Every delivery ends final, every double is marked
//! [`IN_DOUBT`] in its record, and no more are in doubt than the killed
//! process's concurrency. The check reports the counts.

use std::collections::HashMap;
use std::time::Duration;

use nudge::activity::Activity;
use nudge::ids::ConversationKey;
use nudge::notification::{Notification, Reason};
use nudge::service_url::Provenance;
use nudge::store::{Store, StoredReference, IN_DOUBT};

use crate::channel::FakeChannel;

/// How long the channel takes to answer a send it accepts.
pub const LATENCY: Duration = Duration::from_millis(300);

/// How long the dying process's connections are given to close after the
/// kill, before the sends left unanswered are counted.
const SETTLE: Duration = Duration::from_millis(500);

/// `count` notifications, each to a conversation of its own (`{label}-{n}`)
/// that `store` knows at `service_url`; their texts are unique.
pub async fn notifications(
    store: &dyn Store,
    service_url: &str,
    label: &str,
    count: usize,
) -> Vec<Notification> {
    let mut notifications = Vec::new();
    for n in 0..count {
        let key = ConversationKey::new("test", &format!("{label}-{n}")).expect("a key");
        store
            .save_reference(&StoredReference::minimal(
                &key,
                service_url,
                Provenance::Verified,
            ))
            .await
            .expect("save_reference");
        notifications.push(Notification::to_conversation(
            key,
            Activity::message(format!("{label} {n}")),
            Reason::Webhook,
        ));
    }
    notifications
}

/// Waits until `count` distinct texts have reached the channel.
pub async fn wait_until(channel: &FakeChannel, count: usize, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let distinct = || {
        let mut texts: Vec<String> = channel
            .received()
            .iter()
            .map(|r| r.text().to_owned())
            .collect();
        texts.sort();
        texts.dedup();
        texts.len()
    };
    while distinct() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} notifications arrived within {timeout:?}",
            distinct()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the channel saw at the kill.
#[derive(Debug, Clone, Copy)]
pub struct AtTheKill {
    /// Sends the channel accepted and never answered: the caller died.
    pub in_flight: usize,
    /// Messages the channel had accepted by then.
    pub accepted: usize,
}

impl AtTheKill {
    /// Called right after the kill: lets the dead process's connections
    /// close, then counts.
    pub async fn count(channel: &FakeChannel) -> AtTheKill {
        tokio::time::sleep(SETTLE).await;
        AtTheKill {
            in_flight: channel.unanswered(),
            accepted: channel.received().len(),
        }
    }
}

/// The counts a crash check reports.
#[derive(Debug, Clone, Copy)]
pub struct CrashReport {
    pub in_flight: usize,
    pub doubles: usize,
    pub in_doubt: usize,
}

/// Once every notification has arrived (and a few seconds more, for any
/// double still to come): nothing lost, every delivery final, the doubles
/// no more than the sends in flight at the kill, each marked in doubt, and
/// no more in doubt than the killed process's `concurrency`. Prints the
/// report and returns it.
pub async fn check(
    host: &str,
    channel: &FakeChannel,
    store: &dyn Store,
    notifications: &[Notification],
    at_the_kill: AtTheKill,
    concurrency: usize,
) -> CrashReport {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for received in channel.received() {
        *seen.entry(received.text().to_owned()).or_default() += 1;
    }
    let text = |n: &Notification| n.activity.text.clone().unwrap_or_default();
    let lost: Vec<&Notification> = notifications
        .iter()
        .filter(|n| !seen.contains_key(&text(n)))
        .collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    let doubles: usize = seen.values().map(|n| n - 1).sum();
    let AtTheKill {
        in_flight,
        accepted,
    } = at_the_kill;
    eprintln!(
        "crash report ({host}): {} notifications, {accepted} accepted before the kill, \
         {in_flight} in flight at the kill (concurrency {concurrency}), {doubles} doubled",
        notifications.len()
    );
    assert!(
        doubles <= in_flight,
        "{doubles} doubles, but only {in_flight} sends were in flight at the crash"
    );
    assert!(
        in_flight <= concurrency,
        "no more in flight than the concurrency"
    );
    let mut in_doubt = 0;
    for notification in notifications {
        let record = store
            .get_delivery(&notification.id)
            .await
            .expect("get_delivery")
            .expect("every notification has a delivery record");
        assert!(record.status.is_final(), "{record:?}");
        in_doubt += usize::from(record.last_error.as_deref() == Some(IN_DOUBT));
        if seen.get(&text(notification)).copied().unwrap_or_default() > 1 {
            assert_eq!(
                record.last_error.as_deref(),
                Some(IN_DOUBT),
                "a double is marked in its record"
            );
        }
    }
    eprintln!("crash report ({host}): {in_doubt} delivery records say their outcome was in doubt");
    assert!(
        doubles <= in_doubt && in_doubt <= concurrency,
        "in doubt: the attempts cut short, at most the concurrency"
    );
    CrashReport {
        in_flight,
        doubles,
        in_doubt,
    }
}
