//! The reminder phrases people type, parsed into a [`ReminderRequest`].
//!
//! The grammar is small and fixed, so that what the bot accepts can be
//! listed in one reply and nothing is guessed:
//!
//! ```text
//! remind me <when> to <text>
//! when  := in <amount> <unit>                  in 10 minutes, in an hour
//!        | at <time>                           today
//!        | today at <time> | tomorrow at <time>
//!        | on <YYYY-MM-DD> at <time>
//!        | every day at <time> | every weekday at <time>
//!        | every <monday..sunday> at <time>
//!        | every [<amount>] <unit>             every 15 minutes, every hour
//! time  := H[:MM] (24-hour) | H[:MM]am | H[:MM] pm
//! unit  := seconds | minutes | hours | days | weeks (singular, plural, or
//!          sec/min/hr); `every` takes seconds to hours only
//! ```
//!
//! Words are matched case-insensitively; the reminder's text is kept as
//! typed. This module only reads the words: whether the time is in the past
//! or too far away depends on the clock and the user's zone, and is decided
//! by [`super::ReminderSpec::resolve`].

use jiff::civil::{Date, Time, Weekday};

use crate::calendar::recurrence::{Recurrence, WEEKDAYS};

/// Longest reminder text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// What a reminder phrase asked for, before it meets a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRequest {
    /// When, as said.
    pub when: When,
    /// What to remind of, as typed.
    pub text: String,
}

/// When, as said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// `in 10 minutes`: this many seconds from now (saturated, never
    /// wrapped, so a huge number is refused as too far rather than misread).
    In {
        /// Seconds from now.
        seconds: u64,
    },
    /// `at 17:30`, `tomorrow at 9:00`, `on 2026-12-24 at 18:00`.
    On {
        /// The day.
        day: Day,
        /// The time of day, in the user's time zone.
        at: Time,
    },
    /// `every day at 9:00`, `every weekday at 8:30`, `every monday at 10:00`.
    Every(Recurrence),
    /// `every 15 minutes`: this many seconds apart.
    EveryInterval {
        /// Seconds between occurrences.
        seconds: u64,
    },
}

/// The day of a one-time reminder at a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Today (the time must still be ahead).
    Today,
    /// Tomorrow.
    Tomorrow,
    /// That date.
    Date(Date),
}

/// Why a phrase could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhraseError {
    /// Matches no accepted form.
    #[error("the phrase does not match any accepted form")]
    NotUnderstood,
    /// Nothing after `to`.
    #[error("the reminder has no text")]
    MissingText,
    /// More than [`MAX_TEXT_CHARS`].
    #[error("the reminder text is longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong,
    /// Not a time of day (`HH:MM`, 24-hour).
    #[error("`{0}` is not a time of day")]
    BadTime(String),
    /// Not a date (`YYYY-MM-DD`) or not a real one.
    #[error("`{0}` is not a date")]
    BadDate(String),
}

/// Parses what follows `remind` (`me in 10 minutes to stretch`).
pub fn parse(text: &str) -> Result<ReminderRequest, PhraseError> {
    let mut words = Words(text);
    words.expect("me")?;
    let when = parse_when(&mut words)?;
    let text = parse_text(&mut words)?;
    Ok(ReminderRequest { when, text })
}

/// Reads a request given in two parts, as the webhook API takes it: `when`
/// in any of the forms above (`in 10 minutes`, `every weekday at 8:30`),
/// with nothing after it, and the reminder's text, under the same rules as
/// in a phrase.
pub fn parse_parts(when: &str, text: &str) -> Result<ReminderRequest, PhraseError> {
    let mut words = Words(when);
    let when = parse_when(&mut words)?;
    if words.next().is_some() {
        return Err(PhraseError::NotUnderstood);
    }
    Ok(ReminderRequest {
        when,
        text: checked_text(text)?,
    })
}

fn parse_when(words: &mut Words<'_>) -> Result<When, PhraseError> {
    let word = words.next_lower().ok_or(PhraseError::NotUnderstood)?;
    match word.as_str() {
        "in" => {
            let (amount, unit) = amount_and_unit(words)?;
            Ok(When::In {
                seconds: amount.saturating_mul(unit.seconds),
            })
        }
        "at" => Ok(When::On {
            day: Day::Today,
            at: parse_time(words)?,
        }),
        "today" => on_day(Day::Today, words),
        "tomorrow" => on_day(Day::Tomorrow, words),
        "on" => {
            let date = parse_date(words.next().ok_or(PhraseError::NotUnderstood)?)?;
            on_day(Day::Date(date), words)
        }
        "every" => parse_every(words),
        _ => Err(PhraseError::NotUnderstood),
    }
}

/// `<day> at <time>`.
fn on_day(day: Day, words: &mut Words<'_>) -> Result<When, PhraseError> {
    Ok(When::On {
        day,
        at: at_time(words)?,
    })
}

/// `at <time>`.
fn at_time(words: &mut Words<'_>) -> Result<Time, PhraseError> {
    words.expect("at")?;
    parse_time(words)
}

fn parse_every(words: &mut Words<'_>) -> Result<When, PhraseError> {
    let mut lookahead = *words;
    let word = lookahead.next_lower().ok_or(PhraseError::NotUnderstood)?;
    let days = match word.as_str() {
        "day" => Some(Days::All),
        "weekday" | "weekdays" => Some(Days::Weekdays),
        other => weekday(other).map(Days::One),
    };
    if let Some(days) = days {
        *words = lookahead;
        let at = at_time(words)?;
        return Ok(When::Every(match days {
            Days::All => Recurrence::Daily { at },
            Days::Weekdays => Recurrence::Weekdays { at },
            Days::One(on) => Recurrence::Weekly { on, at },
        }));
    }
    let (amount, unit) = match unit(&word) {
        Some(unit) => {
            *words = lookahead;
            (1, unit)
        }
        None => amount_and_unit(words)?,
    };
    if !unit.repeats {
        return Err(PhraseError::NotUnderstood);
    }
    Ok(When::EveryInterval {
        seconds: amount.saturating_mul(unit.seconds),
    })
}

/// The days of a calendar repetition.
enum Days {
    All,
    Weekdays,
    One(Weekday),
}

/// `10 minutes`, `an hour`.
fn amount_and_unit(words: &mut Words<'_>) -> Result<(u64, Unit), PhraseError> {
    let amount = words.next_lower().ok_or(PhraseError::NotUnderstood)?;
    let amount = match amount.as_str() {
        "a" | "an" | "one" => 1,
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u64>().unwrap_or(u64::MAX)
        }
        _ => return Err(PhraseError::NotUnderstood),
    };
    let unit = words
        .next_lower()
        .as_deref()
        .and_then(unit)
        .ok_or(PhraseError::NotUnderstood)?;
    Ok((amount, unit))
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    seconds: u64,
    /// Whether `every <n> <unit>` takes it: longer intervals are said with
    /// a time of day (`every day at 9:00`), which daylight saving does not
    /// shift.
    repeats: bool,
}

fn unit(word: &str) -> Option<Unit> {
    let (seconds, repeats) = match word {
        "second" | "seconds" | "sec" | "secs" => (1, true),
        "minute" | "minutes" | "min" | "mins" => (60, true),
        "hour" | "hours" | "hr" | "hrs" => (3600, true),
        "day" | "days" => (86_400, false),
        "week" | "weeks" => (7 * 86_400, false),
        _ => return None,
    };
    Some(Unit { seconds, repeats })
}

/// `monday`, `mondays`, `mon`.
fn weekday(word: &str) -> Option<Weekday> {
    let word = word.strip_suffix('s').unwrap_or(word);
    WEEKDAYS
        .iter()
        .find(|(name, _)| word == *name || word == &name[..3])
        .map(|(_, day)| *day)
}

/// `17:30`, `9:00`, `9`, `9am`, `5:30 pm`.
fn parse_time(words: &mut Words<'_>) -> Result<Time, PhraseError> {
    let raw = words.next().ok_or(PhraseError::NotUnderstood)?;
    if !raw.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(PhraseError::NotUnderstood);
    }
    let lower = raw.to_ascii_lowercase();
    let (clock, mut meridiem) = match lower.strip_suffix("am") {
        Some(clock) => (clock, Some(false)),
        None => match lower.strip_suffix("pm") {
            Some(clock) => (clock, Some(true)),
            None => (lower.as_str(), None),
        },
    };
    if meridiem.is_none() {
        let mut lookahead = *words;
        meridiem = match lookahead.next_lower().as_deref() {
            Some("am") => Some(false),
            Some("pm") => Some(true),
            _ => None,
        };
        if meridiem.is_some() {
            *words = lookahead;
        }
    }
    clock_time(clock, meridiem).ok_or_else(|| PhraseError::BadTime(raw.to_owned()))
}

/// `H[:MM]`, 24-hour, or 12-hour with `pm` (`Some(true)`) or `am`.
fn clock_time(clock: &str, pm: Option<bool>) -> Option<Time> {
    let (hour, minute) = clock.split_once(':').unwrap_or((clock, "00"));
    let digits = |s: &str, max_len| {
        (1..=max_len).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hour, 2) || !digits(minute, 2) || minute.len() != 2 {
        return None;
    }
    let (hour, minute) = (hour.parse::<i8>().ok()?, minute.parse::<i8>().ok()?);
    let hour = match pm {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(false) => hour % 12,
        Some(true) => hour % 12 + 12,
    };
    Time::new(hour, minute, 0, 0).ok()
}

/// `YYYY-MM-DD`.
fn parse_date(raw: &str) -> Result<Date, PhraseError> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(if raw.starts_with(|c: char| c.is_ascii_digit()) {
            PhraseError::BadDate(raw.to_owned())
        } else {
            PhraseError::NotUnderstood
        });
    }
    raw.parse::<Date>()
        .map_err(|_| PhraseError::BadDate(raw.to_owned()))
}

/// `to <text>`: the rest, as typed.
fn parse_text(words: &mut Words<'_>) -> Result<String, PhraseError> {
    match words.next() {
        None => return Err(PhraseError::MissingText),
        Some(to) if to.eq_ignore_ascii_case("to") => {}
        Some(_) => return Err(PhraseError::NotUnderstood),
    }
    checked_text(words.0)
}

/// A reminder's text, trimmed: present and not too long.
fn checked_text(text: &str) -> Result<String, PhraseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PhraseError::MissingText);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(PhraseError::TextTooLong);
    }
    Ok(text.to_owned())
}

/// The words of a phrase, read one at a time; what is left stays as typed.
#[derive(Debug, Clone, Copy)]
struct Words<'a>(&'a str);

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0.trim_start();
        if rest.is_empty() {
            self.0 = rest;
            return None;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, rest) = rest.split_at(end);
        self.0 = rest;
        Some(word)
    }

    fn next_lower(&mut self) -> Option<String> {
        self.next().map(str::to_lowercase)
    }

    fn expect(&mut self, word: &str) -> Result<(), PhraseError> {
        match self.next() {
            Some(found) if found.eq_ignore_ascii_case(word) => Ok(()),
            _ => Err(PhraseError::NotUnderstood),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn time(h: i8, m: i8) -> Time {
        Time::new(h, m, 0, 0).unwrap()
    }

    fn when(phrase: &str) -> When {
        parse(phrase)
            .unwrap_or_else(|e| panic!("{phrase:?}: {e}"))
            .when
    }

    #[test]
    fn delays_in_every_unit() {
        for (phrase, seconds) in [
            ("me in 10 minutes to stretch", 600),
            ("me in 30 seconds to x", 30),
            ("me in 1 second to x", 1),
            ("me in 2 hours to x", 7200),
            ("me in 1 day to x", 86_400),
            ("me in 2 weeks to x", 1_209_600),
            ("me in an hour to x", 3600),
            ("me in a minute to x", 60),
            ("me in 5 min to x", 300),
            ("me in 0 minutes to x", 0),
            ("ME   IN 10 MINUTES   TO x", 600),
        ] {
            assert_eq!(when(phrase), When::In { seconds }, "{phrase}");
        }
        assert_eq!(
            when("me in 99999999999999999999999 days to x"),
            When::In { seconds: u64::MAX },
            "huge amounts saturate, to be refused as too far"
        );
    }

    #[test]
    fn times_of_day_on_a_day() {
        let on = |day, h, m| When::On {
            day,
            at: time(h, m),
        };
        for (phrase, expected) in [
            ("me at 17:30 to call Bob", on(Day::Today, 17, 30)),
            ("me at 9:05 to x", on(Day::Today, 9, 5)),
            ("me at 9 to x", on(Day::Today, 9, 0)),
            ("me at 5pm to x", on(Day::Today, 17, 0)),
            ("me at 5:30 PM to x", on(Day::Today, 17, 30)),
            ("me at 12am to x", on(Day::Today, 0, 0)),
            ("me at 12:15pm to x", on(Day::Today, 12, 15)),
            ("me today at 0:00 to x", on(Day::Today, 0, 0)),
            ("me tomorrow at 9:00 to x", on(Day::Tomorrow, 9, 0)),
            ("me Tomorrow AT 23:59 to x", on(Day::Tomorrow, 23, 59)),
            (
                "me on 2026-12-24 at 18:00 to x",
                on(Day::Date(date(2026, 12, 24)), 18, 0),
            ),
        ] {
            assert_eq!(when(phrase), expected, "{phrase}");
        }
    }

    #[test]
    fn repetitions() {
        for (phrase, expected) in [
            (
                "me every day at 9:00 to stand up",
                When::Every(Recurrence::Daily { at: time(9, 0) }),
            ),
            (
                "me every weekday at 8:30 to x",
                When::Every(Recurrence::Weekdays { at: time(8, 30) }),
            ),
            (
                "me every Monday at 10:00 to x",
                When::Every(Recurrence::Weekly {
                    on: Weekday::Monday,
                    at: time(10, 0),
                }),
            ),
            (
                "me every sun at 7pm to x",
                When::Every(Recurrence::Weekly {
                    on: Weekday::Sunday,
                    at: time(19, 0),
                }),
            ),
            (
                "me every 15 minutes to x",
                When::EveryInterval { seconds: 900 },
            ),
            ("me every hour to x", When::EveryInterval { seconds: 3600 }),
            ("me every 2 hrs to x", When::EveryInterval { seconds: 7200 }),
            (
                "me every 30 seconds to x",
                When::EveryInterval { seconds: 30 },
            ),
        ] {
            assert_eq!(when(phrase), expected, "{phrase}");
        }
    }

    #[test]
    fn requests_in_two_parts_read_like_phrases() {
        assert_eq!(
            parse_parts("every weekday at 8:30", " check the build ").unwrap(),
            parse("me every weekday at 8:30 to check the build").unwrap()
        );
        assert_eq!(
            parse_parts("in 10 minutes to smuggle", "x"),
            Err(PhraseError::NotUnderstood),
            "nothing may follow the time"
        );
        assert_eq!(
            parse_parts("in 1 hour", "  "),
            Err(PhraseError::MissingText)
        );
        assert_eq!(parse_parts("soon", "x"), Err(PhraseError::NotUnderstood));
    }

    #[test]
    fn the_text_is_kept_as_typed() {
        let request = parse("me in 10 minutes to  Call Bob   at 5, then TO the shop ").unwrap();
        assert_eq!(request.text, "Call Bob   at 5, then TO the shop");
        assert_eq!(
            parse(&format!("me in 1 hour to {}", "é".repeat(MAX_TEXT_CHARS)))
                .unwrap()
                .text
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
    }

    #[test]
    fn refusals() {
        use PhraseError::*;
        for (phrase, expected) in [
            ("", NotUnderstood),
            ("me", NotUnderstood),
            ("us in 10 minutes to x", NotUnderstood),
            ("me to stretch in 10 minutes", NotUnderstood),
            ("me in ten minutes to x", NotUnderstood),
            ("me in 10 fortnights to x", NotUnderstood),
            ("me in 10 to x", NotUnderstood),
            ("me at noon to x", NotUnderstood),
            ("me sometime to x", NotUnderstood),
            ("me every 2 days to x", NotUnderstood),
            ("me every day to x", NotUnderstood),
            ("me every weekday to x", NotUnderstood),
            ("me every month at 9:00 to x", NotUnderstood),
            ("me on christmas at 9:00 to x", NotUnderstood),
            ("me on 2026-12-24 to x", NotUnderstood),
            ("me tomorrow to x", NotUnderstood),
            ("me in 10 minutes stretch", NotUnderstood),
            ("me in 10 minutes", MissingText),
            ("me in 10 minutes to", MissingText),
            ("me in 10 minutes to   ", MissingText),
            ("me at 25:00 to x", BadTime("25:00".into())),
            ("me at 9:60 to x", BadTime("9:60".into())),
            ("me at 9:5 to x", BadTime("9:5".into())),
            ("me at 13pm to x", BadTime("13pm".into())),
            ("me at 0 am to x", BadTime("0".into())),
            ("me at 123:00 to x", BadTime("123:00".into())),
            (
                "me on 2026-13-01 at 9:00 to x",
                BadDate("2026-13-01".into()),
            ),
            (
                "me on 2026-02-30 at 9:00 to x",
                BadDate("2026-02-30".into()),
            ),
            (
                "me on 24.12.2026 at 9:00 to x",
                BadDate("24.12.2026".into()),
            ),
        ] {
            assert_eq!(parse(phrase), Err(expected), "{phrase:?}");
        }
        let long = format!("me in 1 hour to {}", "x".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(parse(&long), Err(TextTooLong));
    }
}
