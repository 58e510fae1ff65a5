//! Time on a user's wall clock: which [`Zone`] their times of day are in,
//! and how a reminder repeats ([`Recurrence`]). These are values the
//! records hold, so they live below the store and the schedule both use
//! them: the store keeps a reminder's recurrence without knowing how the
//! schedule fires it.

pub mod recurrence;
pub mod zone;

pub use recurrence::{weekday_name, Recurrence};
pub use zone::{UnknownZone, Zone};
