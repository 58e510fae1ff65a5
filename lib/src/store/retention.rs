//! How long what the store keeps is kept, as the maintenance tick asks a
//! store without TTL to delete it ([`super::RetentionStore`]).

use jiff::{SignedDuration, Timestamp};

/// How long an accepted notification (the webhook API's record of it) is
/// kept after it was accepted.
pub const ACCEPTED_RETENTION: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The moments before which each kind of record has outlived its
/// retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Idempotency keys and remembered signatures carry their own expiry:
    /// those expired by now go.
    pub now: Timestamp,
    /// Delivery records last updated before this.
    pub deliveries: Timestamp,
    /// Jobs finished (complete) before this; running jobs stay.
    pub finished_jobs: Timestamp,
    /// Accepted notifications accepted before this.
    pub accepted: Timestamp,
}

impl Cutoffs {
    /// The cutoffs at `now` for delivery records and finished jobs kept
    /// `retention` (`NUDGE_DELIVERY_RETENTION_DAYS`), and accepted
    /// notifications [`ACCEPTED_RETENTION`].
    pub fn at(now: Timestamp, retention: SignedDuration) -> Cutoffs {
        let before = |kept: SignedDuration| now.checked_sub(kept).unwrap_or(Timestamp::MIN);
        Cutoffs {
            now,
            deliveries: before(retention),
            finished_jobs: before(retention),
            accepted: before(ACCEPTED_RETENTION),
        }
    }
}

/// How many records of each kind one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Delivery records deleted.
    pub deliveries: usize,
    /// Finished jobs deleted.
    pub finished_jobs: usize,
    /// Accepted-notification records deleted.
    pub accepted: usize,
    /// Idempotency keys and remembered signatures.
    pub expired_keys: usize,
}

impl Purged {
    /// Everything deleted.
    pub fn total(&self) -> usize {
        self.deliveries + self.finished_jobs + self.accepted + self.expired_keys
    }
}
