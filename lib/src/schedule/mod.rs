//! Reminders: what people ask for, when it falls due, and the tick that
//! fires it.
//!
//! - [`phrase`] reads `remind me in 10 minutes to stretch` and its sisters
//!   into a [`ReminderRequest`]; [`ReminderSpec::resolve`] meets it with the
//!   clock and the user's [`Zone`], refusing past, zero, too frequent and
//!   too distant times, so only a possible reminder is ever stored.
//! - [`Recurrence`] (in [`crate::calendar`], below the store that keeps
//!   it) says how a reminder repeats and computes its next occurrence:
//!   calendar rules on the wall clock of the reminder's zone (a daily 9:00
//!   stays 9:00 across daylight saving), intervals on elapsed time;
//!   [`crate::calendar::zone`] documents what happens to times that
//!   daylight saving skips or repeats.
//! - [`tick`] fires what is due. Every host calls this same function: the
//!   local host from a loop every few seconds, the AWS reminder function
//!   from its schedule.
//!
//! # Why a tick can crash, or run twice, without harm
//!
//! A tick reads the due reminders from the store's due-time index (its cost
//! grows with what is due, never with what is stored), and for each page:
//!
//! 1. **enqueues** one notification per due occurrence, with the id
//!    [`NotificationId::from_reminder`]`(id, next_due)`: the same for that
//!    occurrence however often it is computed;
//! 2. **then advances** each reminder with [`ReminderStore::advance_reminder`], a
//!    conditional write that succeeds only if the reminder is still
//!    pending *and* still due at the occurrence the tick read.
//!
//! The order matters. A tick that dies between 1 and 2 leaves the reminder
//! due, so the next tick enqueues the same occurrence again, under the same
//! id; a tick that died before 1 enqueued nothing. Two ticks that overlap
//! (a slow tick and the next schedule, a retried invocation) may both
//! enqueue an occurrence, but only one wins the conditional advance. Either
//! way a notification can be on the queue twice, never a reminder fired
//! twice: the notifier claims each notification id once in the store
//! ([`DeliveryStore::begin_delivery`]) and drops the second copy. Advancing first
//! would have the opposite failure, a crash losing a reminder for good.
//!
//! A reminder missed while no tick ran (host down, schedule skipped) is
//! simply due: the next tick fires it once, late. A repeating one fires
//! that one occurrence and moves to its first occurrence still in the
//! future, skipping the rest of the outage rather than replaying it.
//! One-shot reminders end `Done` and are kept for the log; a cancel is the
//! same conditional write to `Cancelled`, so a cancel and a tick racing on
//! one occurrence resolve to exactly one of them.
//!
//! [`Recurrence`]: crate::calendar::Recurrence
//! [`Zone`]: crate::calendar::Zone
//! [`NotificationId::from_reminder`]: crate::ids::NotificationId::from_reminder
//! [`ReminderStore::advance_reminder`]: crate::store::ReminderStore::advance_reminder
//! [`DeliveryStore::begin_delivery`]: crate::store::DeliveryStore::begin_delivery

mod maintain;
pub mod phrase;
mod reminder_wanted;
mod spec;
mod tick;

pub use maintain::{maintain, Maintenance, PURGE_PER_TICK};
pub use phrase::{PhraseError, ReminderRequest};
pub use reminder_wanted::ReminderStillWanted;
pub use spec::{Refusal, ReminderSpec, MIN_INTERVAL_SECONDS};
pub use tick::{occurrence, tick, TickError, TickReport, PAGE};
