//! The local stand-in for the cloud schedule: run the maintenance tick now
//! and then every `interval`, until shutdown.
//!
//! It calls the same [`schedule::maintain`] as the AWS reminder function,
//! so a reminder behaves the same on a laptop as in the cloud; only the
//! cadence differs (seconds here, so a 30-second reminder arrives on time).
//! The first tick runs at start-up, which fires whatever fell due while the
//! host was down. A tick that fails is logged and simply run again next
//! time: ticks are safe to repeat (see [`crate::schedule`]). The same tick
//! deletes what has outlived its retention, which the embedded store,
//! having no TTL, needs.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::queue::Queue;
use crate::schedule;
use crate::store::Store;

pub async fn run(
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    interval: Duration,
    retention: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !*stopped.borrow() {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => break,
        }
        // A tick in progress finishes before shutdown: stopping halfway is
        // safe too, but finishing avoids firing its page again next start.
        let now = Timestamp::now();
        if let Err(error) = schedule::maintain(store.as_ref(), queue.as_ref(), now, retention).await
        {
            tracing::warn!(%error, "reminder tick failed; retrying next tick");
        }
    }
}
