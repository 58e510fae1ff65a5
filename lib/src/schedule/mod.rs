//! Reminders: when they fall due, and the tick that fires them.
//!
//! (Being built: the parser of reminder phrases, next-occurrence rules with
//! time zones and daylight saving, and `tick`.)

use serde::{Deserialize, Serialize};

/// How a reminder repeats. Times of day are wall-clock times in the
/// reminder's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Recurrence {
    /// Fires once.
    Once,
}
