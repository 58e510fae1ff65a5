//! Time zones: which one a user's times of day are in, and how a wall-clock
//! time on a date becomes an instant there.
//!
//! A [`Zone`] is an IANA time zone checked against the time zone database
//! once, at the edge (the activity's `localTimezone`, the configured
//! default, a stored reminder). Its name is what a reminder stores, so the
//! reminder keeps following that zone's rules, including rule changes the
//! database learns later.
//!
//! Daylight saving makes two wall-clock times awkward, and [`Zone::instant`]
//! settles both the way RFC 5545 (iCalendar) and JavaScript's Temporal do
//! ("compatible" disambiguation):
//! - a time that does not exist that day (it falls in the spring-forward
//!   gap) is moved forward by the length of the gap: 02:30 on the day
//!   Europe/Berlin jumps from 02:00 to 03:00 becomes 03:30, so the reminder
//!   still fires that day, as close to its time as the clock allows;
//! - a time that happens twice (the autumn fold) means its first
//!   occurrence: 02:30 on the day Berlin falls back from 03:00 to 02:00 is
//!   02:30 summer time, and the reminder fires once, not twice.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The longest time zone name accepted (the longest IANA name is about 30
/// characters).
const MAX_NAME_LEN: usize = 64;

/// A time zone name that is not in the time zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IANA time zone name (like `Europe/Berlin` or `UTC`)")]
pub struct UnknownZone(pub String);

/// An IANA time zone, known to the time zone database.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// Looks a name up in the time zone database (case-insensitively); the
    /// zone keeps the database's spelling of it.
    pub fn parse(name: &str) -> Result<Zone, UnknownZone> {
        let trimmed = name.trim();
        let plausible = !trimmed.is_empty()
            && trimmed.len() <= MAX_NAME_LEN
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
            && !trimmed.starts_with('/');
        let tz = plausible
            .then(|| TimeZone::get(trimmed).ok())
            .flatten()
            .ok_or_else(|| UnknownZone(name.to_owned()))?;
        let name = tz.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Zone { name, tz })
    }

    /// The IANA name, as the database spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar date it is at `now` in this zone.
    pub fn date(&self, now: Timestamp) -> Date {
        self.tz.to_datetime(now).date()
    }

    /// The instant a wall-clock `time` on `date` is in this zone, with the
    /// daylight-saving rules in the module docs. `None` only outside the
    /// range of representable instants.
    pub fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.tz
            .to_ambiguous_timestamp(date.to_datetime(time))
            .compatible()
            .ok()
    }

    /// The same wall-clock time a year after `at`, here (a day earlier or
    /// later only where that date or time does not exist).
    pub fn a_year_after(&self, at: Timestamp) -> Timestamp {
        at.to_zoned(self.tz.clone())
            .checked_add(jiff::Span::new().years(1))
            .map(|zoned| zoned.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// `at` as people read it here: `Thu 24 Dec 2026, 18:00 CET`.
    pub fn format(&self, at: Timestamp) -> String {
        at.to_zoned(self.tz.clone())
            .strftime("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    }

    /// `at`'s wall-clock time here, `18:00`.
    pub fn format_time(&self, at: Timestamp) -> String {
        self.tz.to_datetime(at).strftime("%H:%M").to_string()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn names_are_looked_up_case_insensitively_and_kept_as_the_database_spells_them() {
        assert_eq!(
            Zone::parse("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(Zone::parse(" UTC ").unwrap(), Zone::utc());
        for bad in [
            "",
            "Mars/Olympus_Mons",
            "../../etc/passwd",
            "/etc/localtime",
            "x".repeat(65).as_str(),
        ] {
            assert_eq!(
                Zone::parse(bad),
                Err(UnknownZone(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward_and_a_time_in_the_autumn_fold_is_the_first() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let t = |h, m| Time::new(h, m, 0, 0).unwrap();
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        let gap = berlin.instant(date(2026, 3, 29), t(2, 30)).unwrap();
        assert_eq!(gap.to_string(), "2026-03-29T01:30:00Z", "03:30 CEST");
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET.
        let fold = berlin.instant(date(2026, 10, 25), t(2, 30)).unwrap();
        assert_eq!(fold.to_string(), "2026-10-25T00:30:00Z", "02:30 CEST");
        assert_eq!(berlin.format(fold), "Sun 25 Oct 2026, 02:30 CEST");
    }
}
