//! What the bot says about reminders. Times are shown in the user's zone;
//! a repetition is described on the wall clock of the reminder's own zone,
//! which is named when it differs from the user's.

use jiff::Timestamp;

use crate::calendar::{weekday_name, Recurrence, Zone};
use crate::ids::ReminderId;
use crate::schedule::phrase::MAX_TEXT_CHARS;
use crate::schedule::{PhraseError, Refusal};
use crate::store::{Reminder, ReminderStatus};

/// Every form `remind me` accepts, as the help and refusals show them.
pub const REMINDER_FORMS: &str = "\
- `remind me in 10 minutes to stretch` (seconds, minutes, hours, days or weeks)\n\
- `remind me at 17:30 to call Bob` (today; `5:30pm` works too)\n\
- `remind me tomorrow at 9:00 to water the plants`\n\
- `remind me on 2026-12-24 at 18:00 to light the candles`\n\
- `remind me every day at 9:00 to stand up`\n\
- `remind me every weekday at 8:30 to check the build`\n\
- `remind me every monday at 10:00 to plan the week`\n\
- `remind me every 15 minutes to drink water`";

/// How many reminders `reminders` lists at most.
pub const REMINDER_LIST_LIMIT: usize = 50;

/// `Sat 21 Nov 2026, 10:40 CET (Europe/Berlin)`.
fn moment(zone: &Zone, at: Timestamp) -> String {
    let shown = zone.format(at);
    if shown.ends_with(zone.name()) {
        shown
    } else {
        format!("{shown} ({zone})")
    }
}

/// `every day at 09:00`, `every 15 minutes`, `once`.
pub fn repetition(reminder: &Reminder, user_zone: &Zone) -> String {
    let wall = |at: &jiff::civil::Time| {
        let time = at.strftime("%H:%M");
        if reminder.time_zone == user_zone.name() {
            format!("at {time}")
        } else {
            format!("at {time} {}", reminder.time_zone)
        }
    };
    match &reminder.recurrence {
        Recurrence::Once => "once".to_owned(),
        Recurrence::Daily { at } => format!("every day {}", wall(at)),
        Recurrence::Weekdays { at } => format!("every weekday (Monday to Friday) {}", wall(at)),
        Recurrence::Weekly { on, at } => {
            format!("every {} {}", capitalized(weekday_name(*on)), wall(at))
        }
        Recurrence::Interval { seconds } => every(*seconds),
    }
}

fn every(seconds: u32) -> String {
    let (n, unit) = match seconds {
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    match n {
        1 => format!("every {unit}"),
        n => format!("every {n} {unit}s"),
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The reply to a new reminder.
pub fn reminder_set(reminder: &Reminder, zone: &Zone) -> String {
    let when = moment(zone, reminder.next_due);
    let id = &reminder.id;
    let repeats = if reminder.recurrence.is_recurring() {
        format!(", then {}", repetition(reminder, zone))
    } else {
        String::new()
    };
    format!(
        "OK, I'll remind you: \"{}\" on {when}{repeats}. Reminder id: {id} (say `cancel {id}` to cancel it).",
        reminder.text
    )
}

/// The answer to `reminders`: this conversation's pending reminders, their
/// next times in `zone`.
pub fn reminder_list(reminders: &[Reminder], zone: &Zone) -> String {
    if reminders.is_empty() {
        return "There are no pending reminders in this conversation. \
                Say `remind me in 10 minutes to stretch` to set one."
            .to_owned();
    }
    let mut text = format!("Pending reminders here, soonest first (times in {zone}):\n");
    for reminder in reminders.iter().take(REMINDER_LIST_LIMIT) {
        text.push_str(&format!(
            "\n- {} — {} — {} — {}",
            reminder.id,
            zone.format(reminder.next_due),
            reminder.text,
            repetition(reminder, zone)
        ));
    }
    if reminders.len() > REMINDER_LIST_LIMIT {
        text.push_str(&format!(
            "\n\n(only the first {REMINDER_LIST_LIMIT} are shown)"
        ));
    }
    text
}

/// A phrase that could not be read.
pub fn reminder_phrase(problem: &PhraseError) -> String {
    match problem {
        PhraseError::NotUnderstood => format!(
            "I didn't understand when to remind you. Say it one of these ways:\n\n{REMINDER_FORMS}"
        ),
        PhraseError::MissingText => "What should I remind you of? End with `to` and the text, \
             like `remind me in 10 minutes to stretch`."
            .to_owned(),
        PhraseError::TextTooLong => {
            format!("That reminder is too long: keep it to {MAX_TEXT_CHARS} characters.")
        }
        PhraseError::BadTime(raw) => {
            format!("`{raw}` is not a time of day: say `17:30` (24-hour) or `5:30pm`.")
        }
        PhraseError::BadDate(raw) => {
            format!("`{raw}` is not a date: say it as `YYYY-MM-DD`, like `2026-12-24`.")
        }
    }
}

/// A request that cannot be a reminder now.
pub fn reminder_refused(refusal: &Refusal, zone: &Zone) -> String {
    match refusal {
        Refusal::Past { due } => format!(
            "That time has already passed ({}). Pick a later time, or say \
             `remind me tomorrow at {} to …`.",
            moment(zone, *due),
            zone.format_time(*due)
        ),
        Refusal::ZeroDelay => {
            "A reminder needs a delay of more than zero, like `in 10 minutes`.".to_owned()
        }
        Refusal::TooFrequent => {
            "A repeating reminder can repeat at most once a minute, like `every 15 minutes`."
                .to_owned()
        }
        Refusal::TooFar => {
            "That's more than a year away: reminders can be set up to a year ahead.".to_owned()
        }
    }
}

/// The answer to `cancel <id>` that cancelled it.
pub fn reminder_cancelled(reminder: &Reminder) -> String {
    format!(
        "Cancelled reminder {} (\"{}\").",
        reminder.id, reminder.text
    )
}

/// The answer to `cancel <id>` for an id nobody set.
pub fn no_such_reminder(id: &ReminderId) -> String {
    format!("There is no reminder {id}. Say `reminders` to list this conversation's reminders.")
}

/// The answer to `cancel <id>` for a reminder of another conversation.
pub fn not_your_reminder(id: &ReminderId) -> String {
    format!(
        "Reminder {id} was set in another conversation; it can only be cancelled there. \
         Say `reminders` to list this conversation's reminders."
    )
}

/// Why a reminder that is no longer pending cannot be cancelled.
pub fn not_cancellable(reminder: &Reminder) -> String {
    match reminder.status {
        ReminderStatus::Done => format!(
            "Reminder {} has already fired; there is nothing left to cancel.",
            reminder.id
        ),
        ReminderStatus::Cancelled | ReminderStatus::Pending | ReminderStatus::Parked => {
            format!("Reminder {} is already cancelled.", reminder.id)
        }
    }
}

/// A cancel that kept losing to ticks firing the reminder.
pub fn cancel_busy(id: &ReminderId) -> String {
    format!("Reminder {id} was firing just now. Say `cancel {id}` again to cancel it.")
}

/// The answer to `cancel` without an id.
pub fn missing_reminder_id() -> String {
    "Which reminder? Say `cancel` and the reminder's id; `reminders` lists them and their ids."
        .to_owned()
}

/// The answer to `cancel` with something that is not a reminder id.
pub fn malformed_reminder_id(raw: &str) -> String {
    format!(
        "`{raw}` is not a reminder id: reminder ids are 8 letters and digits, like `k3x9p2qa`. \
         Say `reminders` to list them."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    fn reminder(recurrence: Recurrence, zone: &str) -> Reminder {
        Reminder {
            id: "k3x9p2qa".parse().unwrap(),
            owner: "emulator#c".parse().unwrap(),
            text: "stand up".into(),
            recurrence,
            time_zone: zone.into(),
            next_due: "2026-11-23T08:00:00Z".parse().unwrap(),
            status: ReminderStatus::Pending,
            created_at: "2026-11-21T10:00:00Z".parse().unwrap(),
            fired: 0,
            last_fired_at: None,
            created_by: None,
        }
    }

    fn daily_in_berlin() -> Reminder {
        let at = time(9, 0, 0, 0);
        reminder(Recurrence::Daily { at }, "Europe/Berlin")
    }

    #[test]
    fn repetitions_read_naturally() {
        let utc = Zone::utc();
        let cases = [
            (Recurrence::Once, "once"),
            (
                Recurrence::Daily {
                    at: time(9, 0, 0, 0),
                },
                "every day at 09:00",
            ),
            (
                Recurrence::Weekdays {
                    at: time(8, 30, 0, 0),
                },
                "every weekday (Monday to Friday) at 08:30",
            ),
            (
                Recurrence::Weekly {
                    on: jiff::civil::Weekday::Monday,
                    at: time(10, 0, 0, 0),
                },
                "every Monday at 10:00",
            ),
            (Recurrence::Interval { seconds: 900 }, "every 15 minutes"),
            (Recurrence::Interval { seconds: 3600 }, "every hour"),
            (Recurrence::Interval { seconds: 7200 }, "every 2 hours"),
            (Recurrence::Interval { seconds: 90 }, "every 90 seconds"),
        ];
        for (recurrence, expected) in cases {
            assert_eq!(repetition(&reminder(recurrence, "UTC"), &utc), expected);
        }
        assert_eq!(
            repetition(&daily_in_berlin(), &utc),
            "every day at 09:00 Europe/Berlin"
        );
    }

    #[test]
    fn a_new_reminder_is_confirmed_in_the_users_zone_with_its_id() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            reminder_set(&daily_in_berlin(), &berlin),
            "OK, I'll remind you: \"stand up\" on Mon 23 Nov 2026, 09:00 CET (Europe/Berlin), \
             then every day at 09:00. Reminder id: k3x9p2qa (say `cancel k3x9p2qa` to cancel it)."
        );
        let once = reminder(Recurrence::Once, "UTC");
        assert!(reminder_set(&once, &Zone::utc())
            .contains("on Mon 23 Nov 2026, 08:00 UTC. Reminder id"));
    }
}
