//! Rate limits: the slot rule, pure, that every store applies atomically
//! ([`crate::store::RateLimitStore::reserve_send`]).
//!
//! Teams throttles each bot per conversation (7 sends per second, 8 per 2 s,
//! 60 per 30 s, 1800 per hour) and per app per tenant (50 requests per
//! second in each tenant), so the app-wide limit is kept per tenant
//! ([`Limited::Tenant`], keyed by the conversation's tenant; conversations
//! without one share one bucket), with an optional cap over all tenants
//! together ([`Limited::Global`]). A notifier that sends until it is told
//! 429 loses the throttled attempts and provokes longer penalties. This one
//! takes a *slot* before every send: the earliest time at which the send
//! keeps every window within its limit, after every slot already given out.
//! A slot now means send now; a later slot sends the message back to the
//! queue until then (not a failed attempt), and the delivery record keeps
//! the slot, so when the message comes back it sends without asking again.
//!
//! **The rule ([`Rule`]): exact sliding windows, paced.** The state of one
//! limited thing is a [`RateState`]: a log of its slot times, counted
//! exactly for windows up to [`EXACT_HORIZON`] (a sliding window, as the
//! channel counts), and slots per minute for longer ones (an hour's log
//! would be 1800 entries; per-minute counts over-count the oldest partial
//! minute, which errs on the safe side). Two things are added to the bare
//! windows:
//!
//! - *Pacing.* No two slots lie closer than the rule's [`Rule::spacing`],
//!   the even interval of its fastest window (20 ms for 50 a second, 142 ms
//!   for 7 a second). A backlog therefore leaves evenly spread, one send
//!   each interval, instead of a whole window's worth in the same
//!   millisecond: each send has a time a worker can meet, and the channel
//!   sees a steady stream.
//! - *Jitter allowance.* The channel counts arrivals; the notifier counts
//!   slots. A send leaves a little after its slot and the network delays it
//!   by a varying amount, so every window's span is widened by the rule's
//!   margin: [`RateLimits::jitter`] (`NUDGE_RATE_JITTER_MS`, default
//!   [`DEFAULT_JITTER`]) for the bot's limits, twice that for a
//!   conversation's (whose slot may lie up to one jitter before the bot's,
//!   `delivery::limiter`). A send more than half the jitter late for its
//!   slot takes a new one instead (`delivery::limiter`), which leaves the
//!   other half for the network. At 50 a second and 10 ms this runs at
//!   50 per 1.01 s: 99 % of the limit. Earlier the margin was a fixed
//!   0.5 s, which capped 50 a second at 33.
//!
//! Why not one timestamp per limit (GCRA, a virtual-scheduling token
//! bucket)? With a burst allowance it does not keep sliding windows (after a
//! full burst it admits the next send one interval later, which a sliding
//! window counts with the burst), and without one it cannot express "7 a
//! second but 60 per 30 s" for a conversation. Nor can a single timestamp
//! leave holes: a message whose conversation's slot lies 40 s ahead would
//! push the tenant's timestamp 40 s ahead for everyone. The log keeps each
//! slot, so a slot may fill a hole before slots given out earlier.
//!
//! Because the state lives in the store and every reservation is one
//! atomic read-decide-write, the limit holds however many workers send at
//! once: the local notifier's concurrent tasks and concurrent Lambda
//! invocations alike.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::env::{ConfigError, Env};
use crate::ids::ConversationKey;

/// Windows up to this long are counted from the exact log of sends.
pub const EXACT_HORIZON: Duration = Duration::from_secs(60);
/// The allowance for arrival jitter unless configured
/// (`NUDGE_RATE_JITTER_MS`): on a host near the channel a send arrives
/// within a few milliseconds of its slot; 10 ms keeps a 50-a-second limit
/// at 99 %. Less is faster but not safe: at 5 ms a loopback channel once
/// answered 429 in seven broadcasts of 1,000 (BENCHMARKS.md, issue #12).
pub const DEFAULT_JITTER: Duration = Duration::from_millis(10);
/// The width of one count in the per-minute counts of long windows.
const MINUTE_MS: i64 = 60_000;

/// At most `limit` sends in any `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Sends allowed in the window.
    pub limit: u32,
    /// Its length.
    pub span: Duration,
}

impl Window {
    /// At most `limit` sends in any `seconds`.
    pub const fn new(limit: u32, seconds: u64) -> Window {
        Window {
            limit,
            span: Duration::from_secs(seconds),
        }
    }

    fn is_exact(&self) -> bool {
        self.span <= EXACT_HORIZON
    }

    /// The even interval between its sends, in whole milliseconds (rounded
    /// down: pacing must never cost throughput).
    fn interval_ms(&self) -> i64 {
        millis(self.span) / i64::from(self.limit.max(1))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.span.as_secs())
    }
}

/// What one limited thing is held to: its windows, each widened by
/// `margin`, and slots paced [`Rule::spacing`] apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The windows, all kept.
    pub windows: Vec<Window>,
    /// Added to every window's span: the allowance for the varying time
    /// between a slot and the channel's receipt of the send.
    pub margin: Duration,
}

impl Rule {
    /// A rule of `windows`, each widened by `margin`.
    pub fn new(windows: Vec<Window>, margin: Duration) -> Rule {
        Rule { windows, margin }
    }

    /// No limit at all.
    pub fn is_unlimited(&self) -> bool {
        self.windows.is_empty()
    }

    /// The least time between two slots: the even interval of the fastest
    /// window counted exactly (none for no such window, or one faster than
    /// one a millisecond; an hourly window alone is not paced).
    pub fn spacing(&self) -> Duration {
        let ms = self
            .windows
            .iter()
            .filter(|w| w.is_exact())
            .map(Window::interval_ms)
            .min()
            .unwrap_or(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    fn span_ms(&self, window: &Window) -> i64 {
        millis(window.span + self.margin)
    }
}

/// `t` rounded up to a whole millisecond, the precision of slots.
pub fn whole_millisecond(t: Timestamp) -> Timestamp {
    let ms = t.as_millisecond();
    let floor = Timestamp::from_millisecond(ms).unwrap_or(t);
    if floor < t {
        Timestamp::from_millisecond(ms + 1).unwrap_or(t)
    } else {
        floor
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One request for a slot ([`crate::store::RateLimitStore::reserve_send`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// No slot before this.
    pub earliest: Timestamp,
    /// A slot this caller took before and will not use: given back in the
    /// same write.
    pub replacing: Option<Timestamp>,
    /// No slot after this: rather none (a reply that cannot wait longer,
    /// a typing indicator that goes now or never).
    pub by: Option<Timestamp>,
}

impl Ask {
    /// The first slot at or after `earliest`, replacing none, no deadline.
    pub fn from(earliest: Timestamp) -> Ask {
        Ask {
            earliest,
            replacing: None,
            by: None,
        }
    }

    /// Only gives `slot` back.
    pub fn give_back(slot: Timestamp) -> Ask {
        Ask {
            earliest: slot,
            replacing: Some(slot),
            by: Some(Timestamp::MIN),
        }
    }
}

/// The Teams per-conversation limits for sending.
pub const TEAMS_CONVERSATION: [Window; 4] = [
    Window::new(7, 1),
    Window::new(8, 2),
    Window::new(60, 30),
    Window::new(1800, 3600),
];

/// The requests per second a bot sends in one tenant unless configured.
pub const DEFAULT_BOT_PER_SECOND: u32 = 50;

/// The limits the notifier keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Per conversation; empty: unlimited.
    pub conversation: Vec<Window>,
    /// For the bot in one tenant, per second; 0: unlimited.
    pub bot_per_second: u32,
    /// For the bot in all tenants together, per second; 0: no such cap.
    pub global_per_second: u32,
    /// The allowance for arrival jitter (see the module's docs).
    pub jitter: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            conversation: TEAMS_CONVERSATION.to_vec(),
            bot_per_second: DEFAULT_BOT_PER_SECOND,
            global_per_second: 0,
            jitter: DEFAULT_JITTER,
        }
    }
}

impl RateLimits {
    /// No limits at all (benchmarks, channels that do not throttle).
    pub fn off() -> Self {
        RateLimits {
            conversation: Vec::new(),
            bot_per_second: 0,
            global_per_second: 0,
            jitter: DEFAULT_JITTER,
        }
    }

    /// Whether no limit applies at all.
    pub fn is_off(&self) -> bool {
        self.conversation.is_empty() && self.bot_per_second == 0 && self.global_per_second == 0
    }

    /// One conversation's rule: its windows, with room for its slot to lie
    /// up to one jitter before the bot's (`delivery::limiter`).
    pub fn conversation_rule(&self) -> Rule {
        Rule::new(self.conversation.clone(), self.jitter * 2)
    }

    /// The bot's rule in one tenant.
    pub fn tenant_rule(&self) -> Rule {
        Rule::new(per_second(self.bot_per_second), self.jitter)
    }

    /// The bot's rule over all tenants.
    pub fn global_rule(&self) -> Rule {
        Rule::new(per_second(self.global_per_second), self.jitter)
    }

    /// How late a send may leave for its slot and still use it: half the
    /// jitter allowance (the other half is the network's).
    pub fn late(&self) -> Duration {
        self.jitter / 2
    }

    /// Reads `NUDGE_CONVERSATION_RATE_LIMITS` (`teams`, the default; `off`;
    /// or windows like `7/1s,60/30s`), `NUDGE_BOT_RATE_LIMIT` (sends per
    /// second in one tenant, default 50; 0: unlimited),
    /// `NUDGE_GLOBAL_RATE_LIMIT` (sends per second in all tenants together;
    /// 0, the default: no such cap) and `NUDGE_RATE_JITTER_MS` (the arrival
    /// jitter allowed for, default 10, from 2 to 1000).
    pub fn from_env(env: &dyn Env) -> Result<RateLimits, ConfigError> {
        const CONVERSATION: &str = "NUDGE_CONVERSATION_RATE_LIMITS";
        let conversation = match env.get(CONVERSATION) {
            None => TEAMS_CONVERSATION.to_vec(),
            Some(raw) => parse_windows(&raw).map_err(|problem| ConfigError {
                variable: CONVERSATION,
                problem,
            })?,
        };
        let bot_per_second = crate::env::number(
            env,
            "NUDGE_BOT_RATE_LIMIT",
            DEFAULT_BOT_PER_SECOND,
            |n| *n <= 10_000,
            "a number of sends per second from 0 (unlimited) to 10000",
        )?;
        let global_per_second = crate::env::number(
            env,
            "NUDGE_GLOBAL_RATE_LIMIT",
            0,
            |n| *n <= 100_000,
            "a number of sends per second from 0 (no cap) to 100000",
        )?;
        let jitter_ms: u64 = crate::env::number(
            env,
            "NUDGE_RATE_JITTER_MS",
            millis(DEFAULT_JITTER) as u64,
            |n| (2..=1_000).contains(n),
            "a number of milliseconds from 2 to 1000",
        )?;
        Ok(RateLimits {
            conversation,
            bot_per_second,
            global_per_second,
            jitter: Duration::from_millis(jitter_ms),
        })
    }
}

/// `n` a second as windows; none for 0.
fn per_second(n: u32) -> Vec<Window> {
    match n {
        0 => Vec::new(),
        n => vec![Window::new(n, 1)],
    }
}

/// `teams`, `off`, or comma-separated `{limit}/{seconds}s`.
fn parse_windows(raw: &str) -> Result<Vec<Window>, String> {
    match raw.trim() {
        "teams" => return Ok(TEAMS_CONVERSATION.to_vec()),
        "off" => return Ok(Vec::new()),
        _ => {}
    }
    raw.split(',')
        .map(|part| {
            let bad = || format!("`{part}` is not `teams`, `off` or a window like `7/1s`");
            let (limit, span) = part.trim().split_once('/').ok_or_else(bad)?;
            let limit: u32 = limit.trim().parse().map_err(|_| bad())?;
            let seconds: u64 = span
                .trim()
                .trim_end_matches('s')
                .parse()
                .map_err(|_| bad())?;
            if limit == 0 || !(1..=86_400).contains(&seconds) {
                return Err(bad());
            }
            Ok(Window::new(limit, seconds))
        })
        .collect()
}

/// What is limited: one conversation, the bot in one tenant, or the bot
/// in all tenants together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limited {
    /// One conversation.
    Conversation(ConversationKey),
    /// The conversation's tenant (`None`: conversations without one, such
    /// as the Emulator's, which share one bucket).
    Tenant(Option<String>),
    /// The bot in all tenants (`NUDGE_GLOBAL_RATE_LIMIT`).
    Global,
}

impl fmt::Display for Limited {
    /// The name the store keeps its state under.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limited::Conversation(key) => write!(f, "conversation#{key}"),
            Limited::Tenant(Some(tenant)) => write!(f, "tenant#{tenant}"),
            Limited::Tenant(None) => f.write_str("tenant#"),
            Limited::Global => f.write_str("global"),
        }
    }
}

/// The sends one limited thing made, or holds slots for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateState {
    /// Slot times (epoch milliseconds), oldest first, as far back as the
    /// longest exact window reaches; the latest may lie in the future.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sends: Vec<i64>,
    /// Slots per minute (start in epoch milliseconds, count), oldest
    /// first, as far back as the longest window reaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    minutes: Vec<(i64, u32)>,
}

impl RateState {
    /// Takes the earliest slot at or after `earliest` that keeps every
    /// window within its limit, counting the slots already given out on
    /// both sides of it, and returns its time.
    ///
    /// A slot may fill a hole before slots given out earlier (a message
    /// for a quiet conversation does not queue behind another's backlog).
    /// For a long window the counts are per minute, so a slot there never
    /// goes before the minute of the window's latest slot.
    ///
    /// `now` is the present: what lies a span before it is forgotten (a
    /// slot asked for later may still fill a hole between `now` and
    /// `earliest`, so nothing after `now` is).
    pub fn reserve(&mut self, rule: &Rule, now: Timestamp, earliest: Timestamp) -> Timestamp {
        let windows = &rule.windows;
        let now = now.as_millisecond();
        self.forget(rule, now);
        let mut at = whole_millisecond(earliest).as_millisecond().max(now);
        let spacing = millis(rule.spacing());
        loop {
            let moved = windows.iter().fold(at, |at, window| {
                if window.is_exact() {
                    self.exact_room(window.limit, rule.span_ms(window), at)
                } else {
                    self.minute_room(window.limit, rule.span_ms(window))
                        .map_or(at, |from| at.max(from))
                }
            });
            let moved = if spacing > 0 {
                self.exact_room(1, spacing, moved)
            } else {
                moved
            };
            if moved == at {
                break;
            }
            at = moved;
        }
        if windows.iter().any(Window::is_exact) {
            let position = self.sends.partition_point(|&t| t <= at);
            self.sends.insert(position, at);
        }
        if windows.iter().any(|w| !w.is_exact()) {
            let minute = at - at.rem_euclid(MINUTE_MS);
            let position = self.minutes.partition_point(|&(start, _)| start < minute);
            match self.minutes.get_mut(position) {
                Some((start, count)) if *start == minute => *count = count.saturating_add(1),
                _ => self.minutes.insert(position, (minute, 1)),
            }
        }
        Timestamp::from_millisecond(at).unwrap_or(Timestamp::MAX)
    }

    /// [`RateState::reserve`] for an [`Ask`]: first gives back
    /// `ask.replacing`, then takes the earliest slot, unless it lies after
    /// `ask.by`: then nothing is taken and the answer is `None` (an `Ask`
    /// whose `by` is already past only gives back).
    pub fn take(&mut self, rule: &Rule, now: Timestamp, ask: &Ask) -> Option<Timestamp> {
        if let Some(old) = ask.replacing {
            self.give_back(rule, old);
        }
        let slot = self.reserve(rule, now, ask.earliest);
        if ask.by.is_some_and(|by| slot > by) {
            self.give_back(rule, slot);
            return None;
        }
        Some(slot)
    }

    /// Gives back a slot taken earlier and not used (a send moved to a
    /// later slot: `delivery::limiter`). Safe at any time: taking a slot
    /// out never fills a window. A slot not held is ignored (when only
    /// long windows are kept, the caller is trusted to give back only what
    /// it took).
    pub fn give_back(&mut self, rule: &Rule, slot: Timestamp) {
        let slot = slot.as_millisecond();
        match self.sends.iter().position(|&t| t == slot) {
            Some(position) => {
                self.sends.remove(position);
            }
            // Not in the log, so not given (or long forgotten).
            None if rule.windows.iter().any(Window::is_exact) => return,
            None => {}
        }
        if rule.windows.iter().any(|w| !w.is_exact()) {
            let minute = slot - slot.rem_euclid(MINUTE_MS);
            if let Some(position) = self.minutes.iter().position(|&(start, _)| start == minute) {
                let count = &mut self.minutes[position].1;
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.minutes.remove(position);
                }
            }
        }
    }

    /// When this state stops mattering: the last slot has left the longest
    /// window. Stores may drop it after that.
    pub fn expires_at(&self, rule: &Rule) -> Timestamp {
        let longest = rule
            .windows
            .iter()
            .map(|w| rule.span_ms(w))
            .max()
            .unwrap_or(0);
        let last = self
            .sends
            .last()
            .copied()
            .max(self.minutes.last().map(|(start, _)| start + MINUTE_MS))
            .unwrap_or(0);
        Timestamp::from_millisecond(last.saturating_add(longest)).unwrap_or(Timestamp::MAX)
    }

    /// Drops what no window can see any more.
    fn forget(&mut self, rule: &Rule, now: i64) {
        let reach = |exact: bool| {
            rule.windows
                .iter()
                .filter(|w| w.is_exact() == exact)
                .map(|w| rule.span_ms(w))
                .max()
                .unwrap_or(0)
        };
        let exact = reach(true);
        self.sends.retain(|&t| t > now - exact);
        let long = reach(false);
        self.minutes
            .retain(|&(start, _)| start + MINUTE_MS > now - long);
    }

    /// The earliest time at or after `from` where one more slot keeps at
    /// most `limit` slots in any `span` milliseconds (pacing is the window
    /// of one slot per spacing).
    ///
    /// `limit` consecutive slots `a..=b` closer together than the span make
    /// every time in `(b - span, a + span)` bad: a window holding that time
    /// would also hold all of them. The answer is the first time at or after
    /// `from` outside every such interval (they come sorted by start).
    fn exact_room(&self, limit: u32, span: i64, from: i64) -> i64 {
        let limit = limit as usize;
        let mut at = from;
        if limit == 0 {
            return at;
        }
        for group in self.sends.windows(limit) {
            let (first, last) = (group[0], group[limit - 1]);
            if last - first >= span {
                continue;
            }
            let (start, end) = (last - span, first + span);
            if start >= at {
                break;
            }
            at = at.max(end);
        }
        at
    }

    /// For a long window that is full: the end of the minute holding its
    /// `limit`-th latest slot, plus the span.
    fn minute_room(&self, limit: u32, span: i64) -> Option<i64> {
        let limit = limit as usize;
        let mut seen = 0usize;
        for &(start, n) in self.minutes.iter().rev() {
            seen += n as usize;
            if seen >= limit {
                return Some(start + MINUTE_MS + span);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: i64 = 1_700_000_040_000;
    const JITTER: i64 = 10;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(BASE + ms).unwrap()
    }

    fn rule(windows: &[Window]) -> Rule {
        Rule::new(windows.to_vec(), Duration::from_millis(JITTER as u64))
    }

    /// `n` sends asked for at once: the slots they get, in milliseconds.
    fn burst(rule: &Rule, n: usize) -> Vec<i64> {
        let mut state = RateState::default();
        (0..n)
            .map(|_| state.reserve(rule, at(0), at(0)).as_millisecond() - BASE)
            .collect()
    }

    /// Windows broken by sends at `times` each arriving up to `late` ms
    /// after its slot (the worst case: the first of a window's group late,
    /// the last on time), counted as the channel counts: a send is in the
    /// window of a later one less than a span after it.
    fn violations(windows: &[Window], times: &[i64], late: i64) -> Vec<String> {
        let mut found = Vec::new();
        for w in windows {
            let span = w.span.as_millis() as i64;
            for (i, &t) in times.iter().enumerate() {
                let inside = times[i..]
                    .iter()
                    .take_while(|&&u| u < t + late + span)
                    .count();
                if inside > w.limit as usize {
                    found.push(format!("{inside} sends in {w} from {t} ms"));
                }
            }
        }
        found
    }

    #[test]
    fn a_burst_runs_at_the_teams_limits_and_never_over_them() {
        let conversation = RateLimits::default().conversation_rule();
        let times = burst(&conversation, 100);
        let margin = conversation.margin.as_millis() as i64;
        assert_eq!(
            violations(&TEAMS_CONVERSATION, &times, margin),
            Vec::<String>::new()
        );
        let took = times.last().copied().unwrap_or_default();
        // 60 sends at 8 per 2 s, then 40 more once the 30 s window slides.
        assert!((30_000..45_000).contains(&took), "100 sends took {took} ms");
    }

    #[test]
    fn a_tenant_backlog_leaves_evenly_at_the_limit() {
        let tenant = RateLimits::default().tenant_rule();
        assert_eq!(tenant.spacing(), Duration::from_millis(20));
        let times = burst(&tenant, 1_000);
        assert_eq!(
            violations(&tenant.windows, &times, JITTER),
            Vec::<String>::new()
        );
        // Never two in one spacing: a steady stream, no bunches.
        assert!(times.windows(2).all(|p| p[1] - p[0] >= 20), "{times:?}");
        // 50 per 1,010 ms: 99 % of the limit.
        let rate = 999.0 * 1_000.0 / times[999] as f64;
        assert!((49.5..50.0).contains(&rate), "{rate} a second");
    }

    #[test]
    fn late_sends_within_the_margin_break_no_window() {
        // Every send leaves up to the margin after its slot, in the order
        // that hurts most: the first of each group late, the rest on time.
        let tenant = RateLimits::default().tenant_rule();
        let times = burst(&tenant, 300);
        let arrivals: Vec<i64> = times
            .iter()
            .enumerate()
            .map(|(i, &t)| if i % 50 == 0 { t + JITTER } else { t })
            .collect();
        let mut sorted = arrivals.clone();
        sorted.sort_unstable();
        assert_eq!(
            violations(&tenant.windows, &sorted, 0),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_hourly_window_holds_with_per_minute_counts() {
        let hourly = rule(&[Window::new(5, 3600)]);
        assert_eq!(hourly.spacing(), Duration::ZERO, "an hourly window alone");
        let times = burst(&hourly, 6);
        assert_eq!(times[..5], [0, 0, 0, 0, 0]);
        // The sixth waits for the first minute to leave the hour (and margin).
        assert_eq!(times[5], 60_000 + 3_600_000 + JITTER);
    }

    #[test]
    fn a_slot_fills_a_hole_before_later_slots() {
        let two = rule(&[Window::new(2, 1)]);
        let mut state = RateState::default();
        assert_eq!(state.reserve(&two, at(10_000), at(10_000)), at(10_000));
        assert_eq!(
            state.reserve(&two, at(0), at(0)),
            at(0),
            "before a distant slot"
        );
        assert_eq!(state.reserve(&two, at(0), at(0)), at(500), "paced");
        assert_eq!(
            state.reserve(&two, at(0), at(0)),
            at(1_000 + JITTER),
            "then after the full window"
        );
        let times: Vec<i64> = state.sends.iter().map(|t| t - BASE).collect();
        assert_eq!(
            violations(&two.windows, &times, JITTER),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_slot_given_back_makes_room_again() {
        let two = rule(&[Window::new(2, 1), Window::new(3, 3600)]);
        let mut state = RateState::default();
        let first = state.reserve(&two, at(0), at(0));
        assert_eq!(state.reserve(&two, at(0), at(0)), at(500));
        state.give_back(&two, first);
        assert_eq!(
            state.reserve(&two, at(0), at(0)),
            at(0),
            "its place is free"
        );
        state.give_back(&two, at(123)); // never given: nothing happens
        assert_eq!(state.reserve(&two, at(0), at(0)), at(1_000 + JITTER));
        // The hourly count took the given-back slot out too: three, not four.
        assert_eq!(
            state.reserve(&two, at(0), at(0)),
            at(60_000 + 3_600_000 + JITTER)
        );
    }

    #[test]
    fn a_slot_after_the_deadline_is_not_taken() {
        let two = rule(&[Window::new(2, 1)]);
        let mut state = RateState::default();
        let by = |ms| Ask {
            by: Some(at(ms)),
            ..Ask::from(at(0))
        };
        assert_eq!(state.take(&two, at(0), &by(0)), Some(at(0)));
        assert_eq!(state.take(&two, at(0), &by(100)), None, "paced to 500");
        assert_eq!(state.sends.len(), 1, "nothing taken");
        assert_eq!(state.take(&two, at(0), &by(500)), Some(at(500)));
        assert_eq!(state.take(&two, at(0), &Ask::give_back(at(500))), None);
        assert_eq!(state.sends, vec![at(0).as_millisecond()], "given back");
    }

    #[test]
    fn a_slot_asked_for_the_future_forgets_nothing_before_it() {
        let two = rule(&[Window::new(2, 1)]);
        let mut state = RateState::default();
        state.reserve(&two, at(0), at(0));
        state.reserve(&two, at(0), at(0));
        state.reserve(&two, at(0), at(60_000));
        assert_eq!(state.reserve(&two, at(10), at(10)), at(1_000 + JITTER));
    }

    #[test]
    fn concurrent_backlogs_never_overfill_a_window() {
        // Interleaved requests from several workers, at different times.
        let conversation = RateLimits::default().conversation_rule();
        let mut state = RateState::default();
        let mut times = Vec::new();
        for n in 0..300 {
            let earliest = at((n * 7919) % 20_000);
            times.push(
                state
                    .reserve(&conversation, at(0), earliest)
                    .as_millisecond()
                    - BASE,
            );
        }
        times.sort_unstable();
        let margin = conversation.margin.as_millis() as i64;
        assert_eq!(
            violations(&TEAMS_CONVERSATION, &times, margin),
            Vec::<String>::new()
        );
    }

    #[test]
    fn no_windows_admit_everything_at_once_and_keep_nothing() {
        let mut state = RateState::default();
        let none = rule(&[]);
        for _ in 0..100 {
            assert_eq!(state.reserve(&none, at(0), at(0)), at(0));
        }
        assert_eq!(state, RateState::default());
    }

    #[test]
    fn old_slots_are_forgotten() {
        let mut state = RateState::default();
        let two = rule(&[Window::new(2, 1)]);
        state.reserve(&two, at(0), at(0));
        state.reserve(&two, at(10), at(10));
        assert!(state.reserve(&two, at(20), at(20)) > at(1_000));
        assert_eq!(state.reserve(&two, at(10_000), at(10_000)), at(10_000));
        assert_eq!(state.sends, vec![at(10_000).as_millisecond()]);
        assert_eq!(state.expires_at(&two), at(11_000 + JITTER));
    }

    #[test]
    fn windows_parse_from_configuration() {
        assert_eq!(parse_windows("teams").unwrap(), TEAMS_CONVERSATION.to_vec());
        assert_eq!(parse_windows("off").unwrap(), Vec::new());
        assert_eq!(
            parse_windows("3/1s, 10/60").unwrap(),
            vec![Window::new(3, 1), Window::new(10, 60)]
        );
        for bad in ["7", "0/1s", "7/0s", "x/1s", "7/1m"] {
            assert!(parse_windows(bad).is_err(), "{bad}");
        }
        let limits = RateLimits::from_env(&[
            ("NUDGE_CONVERSATION_RATE_LIMITS", "off"),
            ("NUDGE_BOT_RATE_LIMIT", "0"),
        ])
        .unwrap();
        assert_eq!(limits, RateLimits::off());
        assert!(limits.is_off() && !RateLimits::default().is_off());
        let capped = RateLimits::from_env(&[
            ("NUDGE_GLOBAL_RATE_LIMIT", "120"),
            ("NUDGE_RATE_JITTER_MS", "40"),
        ])
        .unwrap();
        assert_eq!(capped.global_rule().windows, vec![Window::new(120, 1)]);
        assert_eq!(capped.tenant_rule().windows, vec![Window::new(50, 1)]);
        assert_eq!(capped.tenant_rule().margin, Duration::from_millis(40));
        assert_eq!(capped.conversation_rule().margin, Duration::from_millis(80));
        assert_eq!(capped.late(), Duration::from_millis(20));
        for bad in [
            ("NUDGE_GLOBAL_RATE_LIMIT", "x"),
            ("NUDGE_RATE_JITTER_MS", "0"),
        ] {
            assert!(RateLimits::from_env(&[bad]).is_err(), "{bad:?}");
        }
    }
}
