//! The local stand-in for the cloud schedule: run the reminder tick now and
//! then every `interval`, until shutdown.
//!
//! It calls the same [`schedule::tick`] as the AWS reminder function, so a
//! reminder behaves the same on a laptop as in the cloud; only the cadence
//! differs (seconds here, so a 30-second reminder arrives on time). The
//! first tick runs at start-up, which fires whatever fell due while the
//! host was down. A tick that fails is logged and simply run again next
//! time: ticks are safe to repeat (see [`crate::schedule`]).
//!
//! Each tick also deletes delivery records older than the retention, a
//! bounded number at a time ([`DeliveryStore::purge_deliveries`]); in the cloud
//! DynamoDB's TTL does that.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::queue::Queue;
use crate::schedule;
use crate::store::Store;

/// Delivery records deleted per tick at most.
const PURGE: usize = 1000;

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
        if let Err(error) = schedule::tick(store.as_ref(), queue.as_ref(), Timestamp::now()).await {
            tracing::warn!(%error, "reminder tick failed; retrying next tick");
        }
        purge(store.as_ref(), retention).await;
    }
}

async fn purge(store: &dyn Store, retention: Duration) {
    let Ok(retention) = jiff::SignedDuration::try_from(retention) else {
        return;
    };
    let Ok(before) = Timestamp::now().checked_sub(retention) else {
        return;
    };
    match store.purge_deliveries(before, PURGE).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired delivery records deleted"),
        Err(error) => tracing::warn!(%error, "could not delete expired delivery records"),
    }
}
