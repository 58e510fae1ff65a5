//! Everything the bot says, in one place, so wording is reviewed together
//! and tests can refer to it instead of repeating literals.

mod reminders;

pub use reminders::*;

use crate::ids::JobId;
use crate::store::{Job, JobStatus};

use super::command::{Problem, MAX_RUN_SECONDS};

/// The commands, as shown in the welcome and the help. No `<placeholder>`:
/// Teams reads `<…>` as HTML, and the Agents Playground shows `&lt;…&gt;`.
const COMMANDS: &str = "\
- `run` — start a job; I'll tell you here when it's complete\n\
- `run 30` — start a job that completes by itself after that many seconds (1 to 900)\n\
- `show` — list the job log\n\
- `done` and a job's id — complete a job, from any conversation\n\
- `subscribe` / `unsubscribe` — opt in or out of broadcasts (add a tag to pick a topic)\n\
- `remind me in 10 minutes to stretch` — set a reminder; also `at 17:30`, `tomorrow at 9:00`, \
`on 2026-12-24 at 18:00`, `every day at 9:00`, `every weekday at 8:30`, `every monday at 10:00`, \
`every 15 minutes`\n\
- `reminders` — list this conversation's reminders\n\
- `cancel` and a reminder's id — cancel one of them\n\
- `help` — this list";

/// The greeting when the bot joins a conversation or a user is added.
pub fn welcome(name: Option<&str>) -> String {
    let greeting = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Welcome, {name}!"),
        None => "Welcome!".to_owned(),
    };
    format!(
        "{greeting} I'm nudge: I tell you when something you're waiting for is done, \
         even when you're not looking. Here's what you can say:\n\n{COMMANDS}"
    )
}

/// The answer to `help` and to anything not understood.
pub fn help() -> String {
    format!("Here's what you can say:\n\n{COMMANDS}")
}

/// The answer to `run`: the job's id and how it completes.
pub fn job_started(id: &JobId, seconds: Option<u32>) -> String {
    let base = format!("We're starting job {id} for you. We'll notify you when it's complete.");
    match seconds {
        Some(1) => format!("{base} It completes by itself in 1 second."),
        Some(s) => format!("{base} It completes by itself in {s} seconds."),
        None => base,
    }
}

/// A request that would take a conversation or a user past a cap.
pub fn cap_reached(full: &super::CapReached) -> String {
    let what = match full.what {
        super::caps::Capped::Reminders => {
            "Cancel one (`reminders` lists them) before setting another."
        }
        super::caps::Capped::Jobs => {
            "Wait for one to complete (or say `done` and its id) before starting another."
        }
        super::caps::Capped::Subscriptions => "Unsubscribe from one before adding another.",
    };
    format!("Sorry, not now: {full}. {what}")
}

/// The answer to `show` when there are no jobs.
pub const JOB_LOG_EMPTY: &str = "The job log is empty.";

/// How many jobs `show` lists at most.
pub const JOB_LOG_LIMIT: usize = 50;

/// The answer to `show`: the jobs, newest first, up to [`JOB_LOG_LIMIT`].
pub fn job_log(jobs: &[Job]) -> String {
    if jobs.is_empty() {
        return JOB_LOG_EMPTY.to_owned();
    }
    let mut text = String::from("Job log (newest first):\n");
    for job in jobs.iter().take(JOB_LOG_LIMIT) {
        text.push_str(&format!(
            "\n- job {} — conversation {} — {}",
            job.id, job.owner, job.status
        ));
    }
    if jobs.len() > JOB_LOG_LIMIT {
        text.push_str(&format!("\n\n(only the newest {JOB_LOG_LIMIT} are shown)"));
    }
    text
}

/// The answer to `done <id>` for a running job.
pub fn completing(id: &JobId) -> String {
    format!("Completing job {id}.")
}

/// The proactive message when a job completes.
pub fn job_complete(id: &JobId) -> String {
    format!("Job {id} is complete.")
}

/// The announcement of a job's start, edited in place once it completed.
pub fn job_started_now_complete(id: &JobId) -> String {
    format!("We ran job {id} for you: it is complete.")
}

/// The answer to `done <id>` for an id nobody here started.
pub fn no_such_job(id: &JobId) -> String {
    format!("There is no job {id}. Say `show` to list the jobs.")
}

/// The answer to `done <id>` for a job already completing or complete.
pub fn not_completable(job: &Job) -> String {
    match job.status {
        JobStatus::Complete => format!("Job {} is already complete.", job.id),
        JobStatus::Completing | JobStatus::Running => {
            format!("Job {} is already being completed.", job.id)
        }
    }
}

/// What was wrong with a command's arguments, and the form to use.
pub fn problem(problem: &Problem) -> String {
    match problem {
        Problem::RunSeconds(raw) => format!(
            "`run` takes a number of seconds from 1 to {MAX_RUN_SECONDS}, not `{raw}`. \
             Say `run` for a job you complete yourself with `done` and its id."
        ),
        Problem::MissingJobId => {
            "Which job? Say `done` and the job's id; `show` lists the jobs and their ids."
                .to_owned()
        }
        Problem::MalformedJobId(raw) => format!(
            "`{raw}` is not a job id: job ids are 8 letters and digits, like `k3x9p2qa`. \
             Say `show` to list the jobs."
        ),
        Problem::Reminder(problem) => reminder_phrase(problem),
        Problem::MissingReminderId => missing_reminder_id(),
        Problem::MalformedReminderId(raw) => malformed_reminder_id(raw),
        Problem::BadTag(raw) => format!(
            "`{raw}` is not a topic I can use: topics are 1 to 64 letters, digits, `-`, `_` or `.`."
        ),
    }
}

/// The answer to `subscribe`: subscribed now, or already.
pub fn subscribed(tag: Option<&str>, newly: bool) -> String {
    match (tag, newly) {
        (None, true) => "You're subscribed to broadcasts. Say `unsubscribe` to stop.".to_owned(),
        (Some(tag), true) => {
            format!("You're subscribed to `{tag}`. Say `unsubscribe {tag}` to stop.")
        }
        (None, false) => "You're already subscribed to broadcasts.".to_owned(),
        (Some(tag), false) => format!("You're already subscribed to `{tag}`."),
    }
}

/// The answer to `unsubscribe`: removed, or was not subscribed.
pub fn unsubscribed(tag: Option<&str>, removed: bool) -> String {
    match (tag, removed) {
        (None, true) => "You're unsubscribed: no more broadcasts here.".to_owned(),
        (Some(tag), true) => format!("You're unsubscribed from `{tag}`."),
        (None, false) => "You weren't subscribed.".to_owned(),
        (Some(tag), false) => format!("You weren't subscribed to `{tag}`."),
    }
}

/// What a new subscriber receives, proactively, a few seconds later.
pub const SUBSCRIBED_NOTICE: &str = "You have been notified.";

/// The default text of a local `/api/notify` broadcast.
pub const DEFAULT_BROADCAST: &str = "proactive hello";

#[cfg(test)]
mod tests {
    use super::*;

    /// Teams renders message text as HTML-ish markdown: a `<word>` vanishes
    /// or shows as `&lt;word&gt;`. None of the fixed texts may carry one.
    #[test]
    fn no_fixed_text_has_an_angle_bracket_placeholder() {
        let texts = [
            welcome(Some("Ann")),
            help(),
            problem(&Problem::RunSeconds("x".into())),
            problem(&Problem::MissingJobId),
            missing_reminder_id(),
        ];
        for text in texts {
            assert!(!text.contains('<') && !text.contains('>'), "{text}");
        }
    }
}
