//! Fault injection for the fake channel: answers scripted per
//! conversation, slow answers, dropped connections, and a mode that
//! enforces the Teams rate limits the way Teams does (429 for a send that
//! breaks them): per conversation, and per app in each tenant
//! ([`TeamsLimits`], shared with the benchmark's sink).
//!
//! A fault is consumed by the next call to its conversation; a call with no
//! fault left is accepted, and answered after the channel's latency, if one
//! is set (a caller that dies meanwhile leaves a message the channel has and
//! the caller does not know about: [`Faults::unanswered`] counts those). A
//! dropped connection ends the call without an answer and the activity is
//! not recorded: the sender cannot know whether it arrived, which is the
//! case the notifier must survive.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::response::Response;
use nudge::local::bench::teams_limits::{Refusal, TeamsLimits};
use serde_json::json;
use tokio::time::Instant;

use super::Scripted;

/// What the channel does with one call.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this instead of accepting.
    Answer(Scripted),
    /// Wait this long, then accept.
    Slow(Duration),
    /// Close the connection without answering.
    Drop,
}

impl Scripted {
    /// An error answer in the Connector's shape.
    pub fn error(status: u16, code: &str) -> Scripted {
        Scripted {
            status,
            body: json!({"error": {"code": code, "message": format!("fake {code}")}}),
            headers: Vec::new(),
        }
    }

    /// 429, with `Retry-After` set to `retry_after` if given (seconds or an
    /// HTTP date).
    pub fn throttled(retry_after: Option<&str>) -> Scripted {
        let mut answer = Scripted::error(429, "Throttled");
        if let Some(value) = retry_after {
            answer.headers.push(("retry-after".into(), value.into()));
        }
        answer
    }
}

#[derive(Default)]
pub(super) struct Faults {
    scripts: Mutex<HashMap<String, VecDeque<Fault>>>,
    latency: Mutex<Duration>,
    /// `Some` while the Teams limits are enforced, with the sends they
    /// accepted.
    teams: Mutex<Option<TeamsLimits>>,
    throttled: AtomicUsize,
    /// Why each 429 of the Teams limits was answered.
    refusals: Mutex<Vec<String>>,
    /// Accepted calls whose answer never went out: the caller hung up (or
    /// died) while the channel was still answering.
    unanswered: AtomicUsize,
    /// Accepted calls being answered now (waiting out the latency).
    answering: AtomicUsize,
}

/// The outcome of the faults for one call.
pub(super) enum Verdict {
    Accept,
    Answer(Scripted),
    Drop,
}

impl Faults {
    pub(super) fn script(&self, conversation: &str, faults: impl IntoIterator<Item = Fault>) {
        self.scripts
            .lock()
            .expect("lock")
            .entry(conversation.to_owned())
            .or_default()
            .extend(faults);
    }

    pub(super) fn set_latency(&self, latency: Duration) {
        *self.latency.lock().expect("lock") = latency;
    }

    pub(super) fn enforce_teams_limits(&self) {
        self.teams
            .lock()
            .expect("lock")
            .get_or_insert_with(TeamsLimits::default);
    }

    pub(super) fn throttled(&self) -> usize {
        self.throttled.load(Ordering::SeqCst)
    }

    pub(super) fn refusals(&self) -> Vec<String> {
        self.refusals.lock().expect("lock").clone()
    }

    pub(super) fn unanswered(&self) -> usize {
        self.unanswered.load(Ordering::SeqCst)
    }

    pub(super) fn answering(&self) -> usize {
        self.answering.load(Ordering::SeqCst)
    }

    /// Waits out the channel's latency before answering an accepted call;
    /// if the caller goes away meanwhile, the call counts as unanswered:
    /// accepted by the channel, unknown to the caller.
    pub(super) async fn answer_after_latency(&self) {
        let latency = *self.latency.lock().expect("lock");
        if latency.is_zero() {
            return;
        }
        let pending = Unanswered(&self.unanswered, true);
        let _answering = Answering::start(&self.answering);
        tokio::time::sleep(latency).await;
        pending.answered();
    }

    /// Decides a call to `conversation` (of `tenant`) that arrived at
    /// `arrived`.
    pub(super) async fn decide(
        &self,
        conversation: &str,
        tenant: Option<&str>,
        arrived: Instant,
    ) -> Verdict {
        let next = self
            .scripts
            .lock()
            .expect("lock")
            .get_mut(conversation)
            .and_then(VecDeque::pop_front);
        match next {
            Some(Fault::Answer(answer)) => return Verdict::Answer(answer),
            Some(Fault::Drop) => return Verdict::Drop,
            Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
            None => {}
        }
        if let Err(refusal) = self.check_teams_limits(conversation, tenant, arrived) {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            self.refusals
                .lock()
                .expect("lock")
                .push(refusal.to_string());
            return Verdict::Answer(Scripted::throttled(None));
        }
        Verdict::Accept
    }

    /// Whether a send arriving at `arrived` breaks a Teams window, the
    /// conversation's or the app's in the conversation's tenant; if not,
    /// it is counted.
    fn check_teams_limits(
        &self,
        conversation: &str,
        tenant: Option<&str>,
        arrived: Instant,
    ) -> Result<(), Refusal> {
        let mut teams = self.teams.lock().expect("lock");
        match teams.as_mut() {
            Some(limits) => limits.check(conversation, tenant, arrived.into_std()),
            None => Ok(()),
        }
    }
}

/// Ends the connection without an answer: the handler's task unwinds and
/// the server closes the connection (`resume_unwind` skips the panic hook,
/// so nothing is printed).
pub(super) fn drop_connection() -> Response {
    std::panic::resume_unwind(Box::new("fake channel: connection dropped"))
}

/// Counts a call as unanswered unless [`Unanswered::answered`] is called
/// (the handler's future is dropped when the caller disconnects).
struct Unanswered<'a>(&'a AtomicUsize, bool);

impl Unanswered<'_> {
    fn answered(mut self) {
        self.1 = false;
    }
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Counts a call as being answered for as long as it lives.
struct Answering<'a>(&'a AtomicUsize);

impl<'a> Answering<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Answering(count)
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
