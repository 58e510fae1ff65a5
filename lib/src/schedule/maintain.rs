//! The maintenance tick every host runs on its schedule (the local host's
//! ticker, the reminder function on AWS): the reminder tick, then the
//! retention work a store without TTL needs. One function, so a host cannot
//! run one half and forget the other.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::tick::{tick, TickError, TickReport};
use crate::queue::Queue;
use crate::store::{Cutoffs, Purged, Store};

/// Records of each kind deleted per tick at most: a tick stays short, and
/// a backlog (a store that was off for long) goes over a few ticks.
pub const PURGE_PER_TICK: usize = 1000;

/// What one maintenance tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// What the reminder tick fired.
    pub reminders: TickReport,
    /// What the retention purge deleted.
    pub purged: Purged,
}

/// Fires the reminders due at `now`, then deletes what has outlived its
/// retention (delivery records and finished jobs `retention` after their
/// last change, `NUDGE_DELIVERY_RETENTION_DAYS`). A failed purge is logged
/// and tried again next tick; a failed reminder tick is the error (ticks
/// are safe to repeat), after the purge has had its turn.
pub async fn maintain(
    store: &dyn Store,
    queue: &dyn Queue,
    now: Timestamp,
    retention: Duration,
) -> Result<Maintenance, TickError> {
    let reminders = tick(store, queue, now).await;
    let retention = SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX);
    let purged = match store
        .purge_expired(&Cutoffs::at(now, retention), PURGE_PER_TICK)
        .await
    {
        Ok(purged) => {
            if purged.total() > 0 {
                tracing::info!(?purged, "records past their retention deleted");
            }
            purged
        }
        Err(error) => {
            tracing::warn!(%error, "could not delete records past their retention; next tick tries again");
            Purged::default()
        }
    };
    Ok(Maintenance {
        reminders: reminders?,
        purged,
    })
}
