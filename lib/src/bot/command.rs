//! What a user can say, parsed from message text.
//!
//! Parsing is forgiving where people are (case, extra spaces, a leading
//! `@mention` in a Teams channel) and strict where ids are: a malformed job
//! id is reported as such, never looked up.

use std::str::FromStr;

use crate::ids::{IdError, JobId, ReminderId};
use crate::schedule::{phrase, PhraseError, ReminderRequest};

/// `run <seconds>` accepts 1 to this many seconds (the longest a queue
/// message can be delayed).
pub const MAX_RUN_SECONDS: u32 = 900;

/// A chat command, as understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `run`, `run job`, `run <seconds>`, `run job <seconds>`.
    Run {
        /// Complete it by itself after this long; else on `done <id>`.
        seconds: Option<u32>,
    },
    /// `show`, `show jobs`.
    ShowJobs,
    /// `done <id>`.
    Done(JobId),
    /// `subscribe`, `subscribe <tag>`.
    Subscribe {
        /// The tag; the general list when absent.
        tag: Option<String>,
    },
    /// `unsubscribe`, `unsubscribe <tag>`.
    Unsubscribe {
        /// The tag; the general list when absent.
        tag: Option<String>,
    },
    /// `remind me <when> to <text>`.
    Remind(ReminderRequest),
    /// `reminders`, `show reminders`.
    ListReminders,
    /// `cancel <reminder id>`.
    Cancel(ReminderId),
    /// `help`, and anything not understood.
    Help,
    /// A known command with arguments that are wrong.
    Invalid(Problem),
}

/// What was wrong with a known command's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `run <seconds>` with something else, or out of range.
    RunSeconds(String),
    /// `done` without an id.
    MissingJobId,
    /// `done` with something that is not a job id.
    MalformedJobId(String),
    /// A tag with characters or a length a tag may not have.
    BadTag(String),
    /// A `remind me` phrase that could not be read.
    Reminder(PhraseError),
    /// `cancel` without an id.
    MissingReminderId,
    /// `cancel` with something that is not a reminder id.
    MalformedReminderId(String),
}

impl Command {
    /// Reads a message's text (mentions of the bot removed); anything not
    /// understood is [`Command::Help`].
    pub fn parse(text: &str) -> Command {
        let text = strip_mentions(text);
        let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        let verb = verb.to_lowercase();
        let args: Vec<&str> = rest.split_whitespace().collect();
        match verb.as_str() {
            "run" => parse_run(&args),
            "show" if is_jobs_noun(&args) => Command::ShowJobs,
            "show" if is_noun(&args, "reminders") => Command::ListReminders,
            "reminders" if args.is_empty() => Command::ListReminders,
            "done" | "complete" => parse_id(&args, Problem::MissingJobId, Problem::MalformedJobId)
                .map_or_else(Command::Invalid, Command::Done),
            "cancel" => parse_id(
                &args,
                Problem::MissingReminderId,
                Problem::MalformedReminderId,
            )
            .map_or_else(Command::Invalid, Command::Cancel),
            "remind" => phrase::parse(rest).map_or_else(
                |problem| Command::Invalid(Problem::Reminder(problem)),
                Command::Remind,
            ),
            "subscribe" => {
                parse_tag(&args).map_or_else(Command::Invalid, |tag| Command::Subscribe { tag })
            }
            "unsubscribe" => {
                parse_tag(&args).map_or_else(Command::Invalid, |tag| Command::Unsubscribe { tag })
            }
            _ => Command::Help,
        }
    }
}

/// Whether the arguments are exactly `noun`, case-insensitively.
fn is_noun(args: &[&str], noun: &str) -> bool {
    matches!(args, [word] if word.eq_ignore_ascii_case(noun))
}

/// `show` takes nothing or `job(s)`.
fn is_jobs_noun(args: &[&str]) -> bool {
    args.is_empty() || is_noun(args, "jobs") || is_noun(args, "job")
}

fn parse_run(args: &[&str]) -> Command {
    let args = match args {
        [first, rest @ ..] if first.eq_ignore_ascii_case("job") => rest,
        _ => args,
    };
    match args {
        [] => Command::Run { seconds: None },
        [raw] => match raw.parse::<u32>() {
            Ok(s) if (1..=MAX_RUN_SECONDS).contains(&s) => Command::Run { seconds: Some(s) },
            _ => Command::Invalid(Problem::RunSeconds((*raw).to_owned())),
        },
        _ => Command::Invalid(Problem::RunSeconds(args.join(" "))),
    }
}

/// One id argument (backquotes allowed, as chat clients add them).
fn parse_id<T: FromStr<Err = IdError>>(
    args: &[&str],
    missing: Problem,
    malformed: fn(String) -> Problem,
) -> Result<T, Problem> {
    match args {
        [] => Err(missing),
        [raw] => match raw.trim_matches('`').parse::<T>() {
            Ok(id) => Ok(id),
            Err(IdError::Missing(_)) => Err(missing),
            Err(_) => Err(malformed((*raw).to_owned())),
        },
        _ => Err(malformed(args.join(" "))),
    }
}

/// A subscription tag: 1 to 64 of `a-z 0-9 - _ .`, case-insensitive.
pub fn parse_tag_name(raw: &str) -> Option<String> {
    let tag = raw.to_lowercase();
    let ok = (1..=64).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    ok.then_some(tag)
}

fn parse_tag(args: &[&str]) -> Result<Option<String>, Problem> {
    match args {
        [] => Ok(None),
        [raw] => parse_tag_name(raw)
            .map(Some)
            .ok_or_else(|| Problem::BadTag((*raw).to_owned())),
        _ => Err(Problem::BadTag(args.join(" "))),
    }
}

/// Removes `<at>…</at>` mentions (how Teams writes "@Bot" into the text).
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<at>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</at>") {
            Some(end) => rest = &rest[start + end + "</at>".len()..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> JobId {
        s.parse().unwrap()
    }

    #[test]
    fn run_forms() {
        assert_eq!(Command::parse("run"), Command::Run { seconds: None });
        assert_eq!(
            Command::parse("  RUN   Job "),
            Command::Run { seconds: None }
        );
        assert_eq!(Command::parse("run 30"), Command::Run { seconds: Some(30) });
        assert_eq!(
            Command::parse("run job 900"),
            Command::Run { seconds: Some(900) }
        );
        for bad in ["run 0", "run 901", "run -1", "run soon", "run job 5 6"] {
            assert!(
                matches!(
                    Command::parse(bad),
                    Command::Invalid(Problem::RunSeconds(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn show_and_help() {
        assert_eq!(Command::parse("show"), Command::ShowJobs);
        assert_eq!(Command::parse("Show jobs"), Command::ShowJobs);
        assert_eq!(Command::parse("help"), Command::Help);
        assert_eq!(Command::parse("what can you do?"), Command::Help);
        assert_eq!(Command::parse(""), Command::Help);
    }

    #[test]
    fn done_forms() {
        assert_eq!(
            Command::parse("done abcdefgh"),
            Command::Done(id("abcdefgh"))
        );
        assert_eq!(
            Command::parse("done `ABCDEFGH`"),
            Command::Done(id("abcdefgh"))
        );
        assert_eq!(
            Command::parse("done"),
            Command::Invalid(Problem::MissingJobId)
        );
        assert_eq!(
            Command::parse("done 42"),
            Command::Invalid(Problem::MalformedJobId("42".into()))
        );
        assert!(matches!(
            Command::parse("done abcdefgh more"),
            Command::Invalid(Problem::MalformedJobId(_))
        ));
    }

    #[test]
    fn subscription_forms() {
        assert_eq!(
            Command::parse("subscribe"),
            Command::Subscribe { tag: None }
        );
        assert_eq!(
            Command::parse("subscribe CI-builds"),
            Command::Subscribe {
                tag: Some("ci-builds".into())
            }
        );
        assert_eq!(
            Command::parse("unsubscribe"),
            Command::Unsubscribe { tag: None }
        );
        assert!(matches!(
            Command::parse("subscribe a/b"),
            Command::Invalid(Problem::BadTag(_))
        ));
    }

    #[test]
    fn reminder_forms() {
        assert!(matches!(
            Command::parse("Remind me in 10 minutes to Stretch"),
            Command::Remind(ReminderRequest { text, .. }) if text == "Stretch"
        ));
        assert_eq!(
            Command::parse("remind me"),
            Command::Invalid(Problem::Reminder(PhraseError::NotUnderstood))
        );
        assert_eq!(
            Command::parse("remind"),
            Command::Invalid(Problem::Reminder(PhraseError::NotUnderstood))
        );
        assert_eq!(Command::parse("reminders"), Command::ListReminders);
        assert_eq!(Command::parse("show Reminders"), Command::ListReminders);
        assert_eq!(Command::parse("reminders please"), Command::Help);
        assert_eq!(
            Command::parse("cancel `K3X9P2QA`"),
            Command::Cancel("k3x9p2qa".parse().unwrap())
        );
        assert_eq!(
            Command::parse("cancel"),
            Command::Invalid(Problem::MissingReminderId)
        );
        assert_eq!(
            Command::parse("cancel 42"),
            Command::Invalid(Problem::MalformedReminderId("42".into()))
        );
    }

    #[test]
    fn teams_mentions_are_ignored() {
        assert_eq!(
            Command::parse("<at>Nudge</at> run 5"),
            Command::Run { seconds: Some(5) }
        );
        assert_eq!(strip_mentions("a <at>x</at> b <at>y"), "a  b <at>y");
    }
}
