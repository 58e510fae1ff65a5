//! A reminder request meets the clock: [`ReminderSpec`] is a reminder that
//! is known to be possible, built once at the edge.
//!
//! [`ReminderSpec::resolve`] decides everything that depends on `now` and
//! the user's zone, and refuses what cannot be a reminder: a time that has
//! passed, a delay of zero, a repetition more often than once a minute,
//! and anything more than a year away. Only a spec becomes a stored
//! [`Reminder`], so bad input never leaves anything half-created behind.
//!
//! Due times are whole seconds (a delay is rounded up, never down): the
//! per-occurrence notification id is made from the second, and every store
//! can keep a second exactly, which the conditional advance compares.

use jiff::{SignedDuration, Timestamp};

use super::phrase::{Day, ReminderRequest, When};
use crate::calendar::Recurrence;
use crate::calendar::Zone;
use crate::ids::{ConversationKey, ReminderId};
use crate::store::{Reminder, ReminderStatus};

/// The shortest interval a repeating reminder may have.
pub const MIN_INTERVAL_SECONDS: u64 = 60;

/// Why a well-formed request cannot be a reminder now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The time asked for has passed.
    #[error("{due} has passed")]
    Past {
        /// The time it would have been due.
        due: Timestamp,
    },
    /// `in 0 minutes`.
    #[error("a delay of zero")]
    ZeroDelay,
    /// An interval under the shortest allowed.
    #[error("repeats more often than every {MIN_INTERVAL_SECONDS} seconds")]
    TooFrequent,
    /// Due more than a year from now.
    #[error("more than a year away")]
    TooFar,
}

/// A reminder that can be stored: its first due time is in the future,
/// within a year, and its repetition is sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSpec {
    /// What it says.
    pub text: String,
    /// When it repeats, if it does.
    pub recurrence: Recurrence,
    /// The time zone its times of day are in.
    pub zone: Zone,
    /// When it first fires.
    pub first_due: Timestamp,
}

impl ReminderSpec {
    /// Resolves `request` for a user in `zone` at `now`.
    pub fn resolve(
        request: ReminderRequest,
        zone: Zone,
        now: Timestamp,
    ) -> Result<ReminderSpec, Refusal> {
        let (first_due, recurrence) = match request.when {
            When::In { seconds: 0 } | When::EveryInterval { seconds: 0 } => {
                return Err(Refusal::ZeroDelay)
            }
            When::In { seconds } => (
                plus_seconds(now, seconds).ok_or(Refusal::TooFar)?,
                Recurrence::Once,
            ),
            When::On { day, at } => {
                let today = zone.date(now);
                let date = match day {
                    Day::Today => today,
                    Day::Tomorrow => today.tomorrow().map_err(|_| Refusal::TooFar)?,
                    Day::Date(date) => date,
                };
                let due = zone.instant(date, at).ok_or(Refusal::TooFar)?;
                if due <= now {
                    return Err(Refusal::Past { due });
                }
                (due, Recurrence::Once)
            }
            When::Every(rule) => (
                rule.next_after(now, now, &zone).ok_or(Refusal::TooFar)?,
                rule,
            ),
            When::EveryInterval { seconds } if seconds < MIN_INTERVAL_SECONDS => {
                return Err(Refusal::TooFrequent)
            }
            When::EveryInterval { seconds } => {
                let seconds = u32::try_from(seconds).map_err(|_| Refusal::TooFar)?;
                let rule = Recurrence::Interval { seconds };
                let start = plus_seconds(now, 0).ok_or(Refusal::TooFar)?;
                (
                    rule.next_after(start, start, &zone)
                        .ok_or(Refusal::TooFar)?,
                    rule,
                )
            }
        };
        if first_due > zone.a_year_after(now) {
            return Err(Refusal::TooFar);
        }
        Ok(ReminderSpec {
            text: request.text,
            recurrence,
            zone,
            first_due,
        })
    }

    /// The pending reminder this spec describes.
    pub fn into_reminder(self, id: ReminderId, owner: ConversationKey, now: Timestamp) -> Reminder {
        Reminder {
            id,
            owner,
            text: self.text,
            recurrence: self.recurrence,
            time_zone: self.zone.name().to_owned(),
            next_due: self.first_due,
            status: ReminderStatus::Pending,
            created_at: now,
            fired: 0,
            last_fired_at: None,
            created_by: None,
        }
    }
}

/// `now` plus `seconds`, rounded up to a whole second.
fn plus_seconds(now: Timestamp, seconds: u64) -> Option<Timestamp> {
    let seconds = i64::try_from(seconds).ok()?;
    let rounded_up = now.as_second() + i64::from(now.subsec_nanosecond() > 0);
    Timestamp::from_second(rounded_up)
        .ok()?
        .checked_add(SignedDuration::from_secs(seconds))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::phrase::parse;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Resolves `remind <phrase>` for a user in `zone` at `now`.
    fn resolve(phrase: &str, zone: &str, now: &str) -> Result<ReminderSpec, Refusal> {
        let request = parse(phrase).unwrap_or_else(|e| panic!("{phrase:?}: {e}"));
        ReminderSpec::resolve(request, Zone::parse(zone).unwrap(), ts(now))
    }

    fn first_due(phrase: &str, zone: &str, now: &str) -> String {
        let spec = resolve(phrase, zone, now).unwrap_or_else(|e| panic!("{phrase:?}: {e}"));
        spec.zone.format(spec.first_due)
    }

    #[test]
    fn delays_count_from_now_rounded_up_to_the_second() {
        let spec = resolve(
            "me in 10 minutes to stretch",
            "UTC",
            "2026-11-21T10:00:00.25Z",
        )
        .unwrap();
        assert_eq!(spec.first_due, ts("2026-11-21T10:10:01Z"));
        assert_eq!(spec.recurrence, Recurrence::Once);
        assert_eq!(spec.text, "stretch");
        let spec = resolve("me in 1 day to x", "UTC", "2026-11-21T10:00:00Z").unwrap();
        assert_eq!(spec.first_due, ts("2026-11-22T10:00:00Z"));
    }

    #[test]
    fn times_of_day_are_in_the_users_zone() {
        let now = "2026-11-21T10:00:00Z"; // a Saturday; 11:00 in Berlin, 19:00 in Tokyo
        for (phrase, zone, expected) in [
            (
                "me at 17:30 to x",
                "Europe/Berlin",
                "Sat 21 Nov 2026, 17:30 CET",
            ),
            ("me at 5:30pm to x", "UTC", "Sat 21 Nov 2026, 17:30 UTC"),
            (
                "me tomorrow at 9:00 to x",
                "Asia/Tokyo",
                "Sun 22 Nov 2026, 09:00 JST",
            ),
            (
                "me on 2026-12-24 at 18:00 to x",
                "Europe/Berlin",
                "Thu 24 Dec 2026, 18:00 CET",
            ),
            (
                "me every weekday at 8:30 to x",
                "UTC",
                "Mon 23 Nov 2026, 08:30 UTC",
            ),
            (
                "me every monday at 10:00 to x",
                "UTC",
                "Mon 23 Nov 2026, 10:00 UTC",
            ),
            (
                "me every day at 10:30 to x",
                "UTC",
                "Sat 21 Nov 2026, 10:30 UTC",
            ),
            (
                "me every 15 minutes to x",
                "UTC",
                "Sat 21 Nov 2026, 10:15 UTC",
            ),
        ] {
            assert_eq!(first_due(phrase, zone, now), expected, "{phrase} in {zone}");
        }
    }

    #[test]
    fn berlin_a_reminder_set_on_the_last_saturday_of_summer_time_lands_on_winter_time() {
        // Saturday 2026-10-24, 22:00 CEST; the clocks go back that night.
        let now = "2026-10-24T20:00:00Z";
        for phrase in ["me every day at 9:00 to x", "me tomorrow at 9:00 to x"] {
            let spec = resolve(phrase, "Europe/Berlin", now).unwrap();
            assert_eq!(
                spec.first_due,
                ts("2026-10-25T08:00:00Z"),
                "{phrase}: 09:00 CET"
            );
        }
    }

    #[test]
    fn new_york_the_spring_gap_and_the_day_after_it() {
        // Saturday 2026-03-07, 18:00 EST; at 02:00 the clocks jump to 03:00.
        let now = "2026-03-07T23:00:00Z";
        let zone = "America/New_York";
        assert_eq!(
            first_due("me tomorrow at 9:00 to x", zone, now),
            "Sun 8 Mar 2026, 09:00 EDT"
        );
        assert_eq!(
            first_due("me on 2026-03-08 at 2:30 to x", zone, now),
            "Sun 8 Mar 2026, 03:30 EDT",
            "a time that does not exist moves forward by the gap"
        );
        assert_eq!(
            first_due("me every day at 17:00 to x", zone, now),
            "Sun 8 Mar 2026, 17:00 EDT"
        );
    }

    #[test]
    fn refusals() {
        let now = "2026-11-21T18:00:00Z";
        for (phrase, expected) in [
            ("me in 0 seconds to x", Refusal::ZeroDelay),
            ("me in 0 days to x", Refusal::ZeroDelay),
            ("me every 0 minutes to x", Refusal::ZeroDelay),
            ("me every 30 seconds to x", Refusal::TooFrequent),
            ("me every 59 seconds to x", Refusal::TooFrequent),
            ("me in 366 days to x", Refusal::TooFar),
            ("me in 53 weeks to x", Refusal::TooFar),
            ("me in 99999999999999999999 days to x", Refusal::TooFar),
            ("me every 9000 hours to x", Refusal::TooFar),
            ("me every 99999999999 hours to x", Refusal::TooFar),
            ("me on 2028-01-01 at 9:00 to x", Refusal::TooFar),
            (
                "me at 17:30 to x",
                Refusal::Past {
                    due: ts("2026-11-21T17:30:00Z"),
                },
            ),
            (
                "me at 18:00 to x",
                Refusal::Past {
                    due: ts("2026-11-21T18:00:00Z"),
                },
            ),
            (
                "me on 2020-01-01 at 9:00 to x",
                Refusal::Past {
                    due: ts("2020-01-01T09:00:00Z"),
                },
            ),
        ] {
            assert_eq!(resolve(phrase, "UTC", now), Err(expected), "{phrase}");
        }
        assert!(resolve("me in 365 days to x", "UTC", now).is_ok());
        assert!(resolve("me on 2027-11-21 at 17:59 to x", "UTC", now).is_ok());
        assert!(resolve("me every minute to x", "UTC", now).is_ok());
    }

    #[test]
    fn a_spec_becomes_a_pending_reminder() {
        let spec = resolve(
            "me every day at 9:00 to stand up",
            "Europe/Berlin",
            "2026-11-21T10:00:00Z",
        )
        .unwrap();
        let id: ReminderId = "abcdefgh".parse().unwrap();
        let owner: ConversationKey = "emulator#c1".parse().unwrap();
        let now = ts("2026-11-21T10:00:00Z");
        let reminder = spec.into_reminder(id.clone(), owner.clone(), now);
        assert_eq!(
            reminder,
            Reminder {
                id,
                owner,
                text: "stand up".into(),
                recurrence: Recurrence::Daily {
                    at: jiff::civil::time(9, 0, 0, 0)
                },
                time_zone: "Europe/Berlin".into(),
                next_due: ts("2026-11-22T08:00:00Z"),
                status: ReminderStatus::Pending,
                created_at: now,
                fired: 0,
                last_fired_at: None,
                created_by: None,
            }
        );
    }
}
