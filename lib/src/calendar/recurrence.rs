//! How a reminder repeats, and when it falls due next.
//!
//! Two kinds of repetition behave differently on purpose:
//! - **Calendar** rules (`every day at 9:00`, `every weekday at 8:30`,
//!   `every monday at 10:00`) are wall-clock times in the reminder's zone.
//!   Each occurrence is computed afresh from the calendar, never by adding
//!   24 hours to the last one, so a daily 9:00 stays 9:00 local across a
//!   daylight-saving change (the day in between is 23 or 25 hours long).
//! - **Intervals** (`every 15 minutes`) are elapsed time, anchored to the
//!   first occurrence: they tick on regardless of the clock on the wall,
//!   and never drift however late a tick runs.
//!
//! [`Recurrence::next_after`] always answers with an occurrence strictly
//! after `now`. That is what makes a missed reminder fire once: the tick
//! fires the occurrence that was due and moves on to the first one still
//! in the future, skipping everything missed in between.
//!
//! The value is stored inside each reminder as tagged JSON
//! (`{"kind": "daily", "at": "09:00:00"}`); adapters treat it as opaque.

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::zone::Zone;

/// How a reminder repeats. Times of day are wall-clock times in the
/// reminder's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Recurrence {
    /// Fires once.
    Once,
    /// Every day at a time of day.
    Daily {
        /// The wall-clock time.
        at: Time,
    },
    /// Monday to Friday at a time of day.
    Weekdays {
        /// The wall-clock time.
        at: Time,
    },
    /// One day a week at a time of day.
    Weekly {
        /// The day of the week.
        #[serde(with = "weekday_serde")]
        on: Weekday,
        /// The wall-clock time.
        at: Time,
    },
    /// Every so many seconds of elapsed time.
    Interval {
        /// Seconds between occurrences, from the first.
        seconds: u32,
    },
}

/// Days looked at to find the next calendar occurrence: a week, plus one
/// for an occurrence that daylight saving pushed past its day.
const DAYS_SEARCHED: usize = 8;

impl Recurrence {
    /// The first occurrence strictly after `now` (and after `previous`, the
    /// occurrence that fell due, or the creation time for the first one).
    /// `None` for [`Recurrence::Once`], and at the end of representable time.
    pub fn next_after(
        &self,
        previous: Timestamp,
        now: Timestamp,
        zone: &Zone,
    ) -> Option<Timestamp> {
        let after = previous.max(now);
        match *self {
            Recurrence::Once => None,
            Recurrence::Daily { at } => next_on_days(zone, after, at, |_| true),
            Recurrence::Weekdays { at } => next_on_days(zone, after, at, is_weekday),
            Recurrence::Weekly { on, at } => next_on_days(zone, after, at, |day| day == on),
            Recurrence::Interval { seconds } => next_interval(previous, now, seconds),
        }
    }

    /// Whether it fires more than once.
    pub fn is_recurring(&self) -> bool {
        !matches!(self, Recurrence::Once)
    }
}

fn is_weekday(day: Weekday) -> bool {
    !matches!(day, Weekday::Saturday | Weekday::Sunday)
}

/// The first instant after `after` that is `at` o'clock in `zone` on a day
/// `wanted` accepts.
fn next_on_days(
    zone: &Zone,
    after: Timestamp,
    at: Time,
    wanted: impl Fn(Weekday) -> bool,
) -> Option<Timestamp> {
    let mut day: Date = zone.date(after);
    for _ in 0..DAYS_SEARCHED {
        if wanted(day.weekday()) {
            if let Some(candidate) = zone.instant(day, at).filter(|&t| t > after) {
                return Some(candidate);
            }
        }
        day = day.tomorrow().ok()?;
    }
    None
}

/// `previous` plus the fewest whole intervals that land after `now`.
fn next_interval(previous: Timestamp, now: Timestamp, seconds: u32) -> Option<Timestamp> {
    let step = i64::from(seconds);
    if step == 0 {
        return None;
    }
    let behind = now.duration_since(previous).as_secs().max(0);
    let steps = behind / step + 1;
    previous
        .checked_add(SignedDuration::from_secs(steps.checked_mul(step)?))
        .ok()
}

/// The days of the week by their lowercase English names.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

/// A weekday's lowercase English name.
pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(_, d)| *d == day)
        .map_or("monday", |(name, _)| name)
}

/// Serializes a weekday as its lowercase English name.
mod weekday_serde {
    use jiff::civil::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::WEEKDAYS;

    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::weekday_name(*day))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let raw = String::deserialize(d)?;
        WEEKDAYS
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, day)| *day)
            .ok_or_else(|| serde::de::Error::custom(format!("`{raw}` is not a weekday")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn time(h: i8, m: i8) -> Time {
        Time::new(h, m, 0, 0).unwrap()
    }

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap()
    }

    /// The occurrences of `rule` after `start`, each computed from the last
    /// one as the tick does.
    fn occurrences(rule: &Recurrence, zone: &Zone, start: &str, n: usize) -> Vec<String> {
        let mut at = ts(start);
        (0..n)
            .map(|_| {
                at = rule.next_after(at, at, zone).unwrap();
                zone.format(at)
            })
            .collect()
    }

    #[test]
    fn a_daily_reminder_in_berlin_stays_at_nine_across_the_end_of_summer_time() {
        // The last Sunday of October 2026 is the 25th: CEST (+2) -> CET (+1).
        let rule = Recurrence::Daily { at: time(9, 0) };
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            occurrences(&rule, &berlin, "2026-10-24T06:00:00Z", 3),
            [
                "Sat 24 Oct 2026, 09:00 CEST",
                "Sun 25 Oct 2026, 09:00 CET",
                "Mon 26 Oct 2026, 09:00 CET",
            ]
        );
        let sunday = rule
            .next_after(
                ts("2026-10-24T07:00:00Z"),
                ts("2026-10-24T07:00:00Z"),
                &berlin,
            )
            .unwrap();
        assert_eq!(
            sunday,
            ts("2026-10-25T08:00:00Z"),
            "25 hours after Saturday's"
        );
    }

    #[test]
    fn a_daily_reminder_in_new_york_stays_at_nine_across_the_start_of_daylight_time() {
        // 2026-03-08, the second Sunday of March: EST (-5) -> EDT (-4).
        let rule = Recurrence::Daily { at: time(9, 0) };
        let new_york = zone("America/New_York");
        let saturday = ts("2026-03-07T14:00:00Z");
        let sunday = rule.next_after(saturday, saturday, &new_york).unwrap();
        assert_eq!(sunday, ts("2026-03-08T13:00:00Z"), "23 hours later");
        assert_eq!(new_york.format(sunday), "Sun 8 Mar 2026, 09:00 EDT");
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_fires_late_that_day_and_a_repeated_time_once() {
        let new_york = zone("America/New_York");
        let gap = Recurrence::Daily { at: time(2, 30) };
        assert_eq!(
            occurrences(&gap, &new_york, "2026-03-07T12:00:00Z", 2),
            ["Sun 8 Mar 2026, 03:30 EDT", "Mon 9 Mar 2026, 02:30 EDT"]
        );
        // 2026-11-01: 01:00-02:00 happens twice.
        let fold = Recurrence::Daily { at: time(1, 30) };
        assert_eq!(
            occurrences(&fold, &new_york, "2026-10-31T12:00:00Z", 2),
            ["Sun 1 Nov 2026, 01:30 EDT", "Mon 2 Nov 2026, 01:30 EST"]
        );
    }

    #[test]
    fn weekdays_skip_the_weekend_and_weekly_keeps_its_day() {
        let utc = Zone::utc();
        let weekdays = Recurrence::Weekdays { at: time(8, 30) };
        assert_eq!(
            occurrences(&weekdays, &utc, "2026-11-19T09:00:00Z", 3),
            [
                "Fri 20 Nov 2026, 08:30 UTC",
                "Mon 23 Nov 2026, 08:30 UTC",
                "Tue 24 Nov 2026, 08:30 UTC",
            ]
        );
        let monday = Recurrence::Weekly {
            on: Weekday::Monday,
            at: time(10, 0),
        };
        assert_eq!(
            occurrences(&monday, &utc, "2026-11-23T10:00:00Z", 2),
            ["Mon 30 Nov 2026, 10:00 UTC", "Mon 7 Dec 2026, 10:00 UTC"],
            "an occurrence exactly at `now` is not next"
        );
    }

    #[test]
    fn a_missed_reminder_skips_to_its_first_future_occurrence() {
        let utc = Zone::utc();
        let quarter = Recurrence::Interval { seconds: 900 };
        let due = ts("2026-11-21T10:00:00Z");
        assert_eq!(
            quarter.next_after(due, due, &utc),
            Some(ts("2026-11-21T10:15:00Z"))
        );
        assert_eq!(
            quarter.next_after(due, ts("2026-11-21T13:07:00Z"), &utc),
            Some(ts("2026-11-21T13:15:00Z")),
            "anchored to the schedule, not to the late tick"
        );
        assert_eq!(
            quarter.next_after(due, ts("2026-11-21T13:15:00Z"), &utc),
            Some(ts("2026-11-21T13:30:00Z"))
        );
        let daily = Recurrence::Daily { at: time(9, 0) };
        assert_eq!(
            daily.next_after(ts("2026-11-01T09:00:00Z"), ts("2026-11-21T12:00:00Z"), &utc),
            Some(ts("2026-11-22T09:00:00Z"))
        );
        assert_eq!(Recurrence::Once.next_after(due, due, &utc), None);
    }

    #[test]
    fn serializes_as_tagged_json() {
        let weekly = Recurrence::Weekly {
            on: Weekday::Monday,
            at: time(10, 0),
        };
        let json = serde_json::to_value(&weekly).unwrap();
        assert_eq!(
            json,
            json!({"kind": "weekly", "on": "monday", "at": "10:00:00"})
        );
        assert_eq!(serde_json::from_value::<Recurrence>(json).unwrap(), weekly);
        assert_eq!(
            serde_json::to_value(Recurrence::Once).unwrap(),
            json!({"kind": "once"})
        );
        assert!(serde_json::from_value::<Recurrence>(
            json!({"kind": "weekly", "on": "someday", "at": "10:00:00"})
        )
        .is_err());
    }
}
