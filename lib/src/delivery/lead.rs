//! How long this process's own steps take, so that it can start them early
//! enough to meet a rate-limit slot on time.
//!
//! A slot is met by sending within half the jitter allowance after it
//! (`crate::rate`): 5 ms by default. Two steps stand between deciding
//! and sending, and their length depends on the store and the load: the
//! reservation itself (its time is fixed inside the store's transaction and
//! becomes usable only when the write returns: well under a millisecond on
//! SQLite, tens on DynamoDB), and, for a message the queue held back until
//! its slot, the claim and reads between the queue showing it and the send.
//! A [`Lead`] learns one such length (a moving estimate that rises at once
//! and falls slowly), and the limiter starts that much ahead: it reserves
//! from *now + lead* and asks the queue back that much before the slot,
//! waiting the rest in place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The least lead, whatever was measured (timer slack).
const FLOOR: Duration = Duration::from_millis(2);
/// The most: beyond it, the store is failing rather than slow.
const CEILING: Duration = Duration::from_secs(1);

/// A learned duration (microseconds).
#[derive(Debug)]
pub(super) struct Lead {
    estimate_us: AtomicU64,
}

impl Lead {
    pub(super) fn new(start: Duration) -> Lead {
        Lead {
            estimate_us: AtomicU64::new(micros(start)),
        }
    }

    /// Takes one measurement in: a longer one than the estimate replaces
    /// it (lateness costs a slot), a shorter one moves it an eighth of the
    /// way down.
    pub(super) fn observe(&self, took: Duration) {
        let took = micros(took);
        let _ = self
            .estimate_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if took >= old {
                    took
                } else {
                    old - (old - took) / 8
                })
            });
    }

    /// How far ahead to start: the estimate with half again for variance,
    /// between [`FLOOR`] and [`CEILING`].
    pub(super) fn ahead(&self) -> Duration {
        let us = self.estimate_us.load(Ordering::Relaxed);
        Duration::from_micros(us + us / 2).clamp(FLOOR, CEILING)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rises_at_once_and_falls_slowly() {
        let lead = Lead::new(ms(4));
        assert_eq!(lead.ahead(), ms(6));
        lead.observe(ms(40));
        assert_eq!(lead.ahead(), ms(60), "one slow step is enough");
        lead.observe(ms(0));
        assert_eq!(
            lead.ahead(),
            ms(35) + ms(35) / 2,
            "an eighth of the way down"
        );
        for _ in 0..100 {
            lead.observe(ms(0));
        }
        assert_eq!(lead.ahead(), FLOOR);
        lead.observe(Duration::from_secs(30));
        assert_eq!(lead.ahead(), CEILING);
    }
}
