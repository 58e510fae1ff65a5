//! Rate limits: the slot rule, pure, that every store applies atomically
//! ([`crate::store::Store::reserve_send`]).
//!
//! Teams throttles each bot per conversation (7 sends per second, 8 per 2 s,
//! 60 per 30 s, 1800 per hour) and per app per tenant (50 requests per
//! second in each tenant), so the app-wide limit is kept per tenant
//! ([`Limited::Tenant`], keyed by the conversation's tenant; conversations
//! without one share one bucket), with an optional cap over all tenants
//! together ([`Limited::Global`]). A notifier that sends until it is told 429 loses the
//! throttled attempts and provokes longer penalties. This one takes a
//! *slot* before every send: the earliest time at which the send keeps
//! every window within its limit, after every slot already given out. A
//! slot now means send now; a later slot sends the message back to the
//! queue until then (not a failed attempt), and the delivery record keeps
//! the slot, so when the message comes back it sends without asking again.
//! A burst therefore costs one admission per message, not one per message
//! per retry, and runs exactly at the limit: 100 messages to one
//! conversation take about 43 s, 1,000 conversations at 50 a second 20 s.
//!
//! The state of one limited thing (a conversation, or the bot as a whole)
//! is a [`RateState`]: a log of recent slot times for the short windows,
//! counted exactly (a sliding window), and slots per minute for windows
//! longer than [`EXACT_HORIZON`] (an hour's log would be 1800 entries;
//! per-minute counts over-count the oldest partial minute, which errs on
//! the safe side). Every window is widened by [`SAFETY_MARGIN`]: the
//! channel counts arrivals, the notifier counts slots, and a message may
//! come back from the queue a little after its slot.
//!
//! Because the state lives in the store and every reservation is one
//! atomic read-decide-write, the limit holds however many workers send at
//! once: the local notifier's concurrent tasks and concurrent Lambda
//! invocations alike. The notifier asks the conversation first and then the
//! bot, for a slot no earlier than the conversation's; when the bot's slot
//! is later, the conversation's log holds a slightly earlier time than the
//! send, which the margin absorbs (and when it is much later, the
//! conversation is asked again from there: `delivery::limiter`).

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Env};
use crate::ids::ConversationKey;

/// Windows up to this long are counted from the exact log of sends.
pub const EXACT_HORIZON: Duration = Duration::from_secs(60);
/// Added to every window's span: the allowance for the varying time
/// between admission and the channel's receipt.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(500);
/// The width of one count in the per-minute counts of long windows.
const MINUTE_MS: i64 = 60_000;

/// At most `limit` sends in any `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    pub span: Duration,
}

impl Window {
    pub const fn new(limit: u32, seconds: u64) -> Window {
        Window {
            limit,
            span: Duration::from_secs(seconds),
        }
    }

    fn span_ms(&self) -> i64 {
        i64::try_from((self.span + SAFETY_MARGIN).as_millis()).unwrap_or(i64::MAX)
    }

    fn is_exact(&self) -> bool {
        self.span <= EXACT_HORIZON
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.span.as_secs())
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
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            conversation: TEAMS_CONVERSATION.to_vec(),
            bot_per_second: DEFAULT_BOT_PER_SECOND,
            global_per_second: 0,
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
        }
    }

    /// The bot's limit in one tenant, as windows.
    pub fn bot_windows(&self) -> Vec<Window> {
        per_second(self.bot_per_second)
    }

    /// The bot's cap over all tenants, as windows.
    pub fn global_windows(&self) -> Vec<Window> {
        per_second(self.global_per_second)
    }

    /// Reads `NUDGE_CONVERSATION_RATE_LIMITS` (`teams`, the default; `off`;
    /// or windows like `7/1s,60/30s`), `NUDGE_BOT_RATE_LIMIT` (sends per
    /// second in one tenant, default 50; 0: unlimited) and
    /// `NUDGE_GLOBAL_RATE_LIMIT` (sends per second in all tenants together;
    /// 0, the default: no such cap).
    pub fn from_env(env: &dyn Env) -> Result<RateLimits, ConfigError> {
        const CONVERSATION: &str = "NUDGE_CONVERSATION_RATE_LIMITS";
        let conversation = match env.get(CONVERSATION) {
            None => TEAMS_CONVERSATION.to_vec(),
            Some(raw) => parse_windows(&raw).map_err(|problem| ConfigError {
                variable: CONVERSATION,
                problem,
            })?,
        };
        let bot_per_second = crate::config::number(
            env,
            "NUDGE_BOT_RATE_LIMIT",
            DEFAULT_BOT_PER_SECOND,
            |n| *n <= 10_000,
            "a number of sends per second from 0 (unlimited) to 10000",
        )?;
        let global_per_second = crate::config::number(
            env,
            "NUDGE_GLOBAL_RATE_LIMIT",
            0,
            |n| *n <= 100_000,
            "a number of sends per second from 0 (no cap) to 100000",
        )?;
        Ok(RateLimits {
            conversation,
            bot_per_second,
            global_per_second,
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
    Conversation(ConversationKey),
    /// The conversation's tenant (`None`: conversations without one, such
    /// as the Emulator's, which share one bucket).
    Tenant(Option<String>),
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
    pub fn reserve(
        &mut self,
        windows: &[Window],
        now: Timestamp,
        earliest: Timestamp,
    ) -> Timestamp {
        let now = now.as_millisecond();
        self.forget(windows, now);
        let mut at = earliest.as_millisecond().max(now);
        loop {
            let moved = windows.iter().fold(at, |at, window| {
                if window.is_exact() {
                    self.exact_room(window, at)
                } else {
                    self.minute_room(window).map_or(at, |from| at.max(from))
                }
            });
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

    /// When this state stops mattering: the last slot has left the longest
    /// window. Stores may drop it after that.
    pub fn expires_at(&self, windows: &[Window]) -> Timestamp {
        let longest = windows.iter().map(Window::span_ms).max().unwrap_or(0);
        let last = self
            .sends
            .last()
            .copied()
            .max(self.minutes.last().map(|(start, _)| start + MINUTE_MS))
            .unwrap_or(0);
        Timestamp::from_millisecond(last.saturating_add(longest)).unwrap_or(Timestamp::MAX)
    }

    /// Drops what no window can see any more.
    fn forget(&mut self, windows: &[Window], now: i64) {
        let reach = |exact: bool| {
            windows
                .iter()
                .filter(|w| w.is_exact() == exact)
                .map(Window::span_ms)
                .max()
                .unwrap_or(0)
        };
        let exact = reach(true);
        self.sends.retain(|&t| t > now - exact);
        let long = reach(false);
        self.minutes
            .retain(|&(start, _)| start + MINUTE_MS > now - long);
    }

    /// The earliest time at or after `from` where one more slot keeps
    /// `window` within its limit.
    ///
    /// `limit` consecutive slots `a..=b` closer together than the span make
    /// every time in `(b - span, a + span)` bad: a window holding that time
    /// would also hold all of them. The answer is the first time at or after
    /// `from` outside every such interval (they come sorted by start).
    fn exact_room(&self, window: &Window, from: i64) -> i64 {
        let (limit, span) = (window.limit as usize, window.span_ms());
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
    fn minute_room(&self, window: &Window) -> Option<i64> {
        let limit = window.limit as usize;
        let mut seen = 0usize;
        for &(start, n) in self.minutes.iter().rev() {
            seen += n as usize;
            if seen >= limit {
                return Some(start + MINUTE_MS + window.span_ms());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: i64 = 1_700_000_040_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(BASE + ms).unwrap()
    }

    /// `n` sends asked for at once: the slots they get, in milliseconds.
    fn burst(windows: &[Window], n: usize) -> Vec<i64> {
        let mut state = RateState::default();
        (0..n)
            .map(|_| state.reserve(windows, at(0), at(0)).as_millisecond() - BASE)
            .collect()
    }

    fn violations(windows: &[Window], times: &[i64]) -> Vec<String> {
        let mut found = Vec::new();
        for w in windows {
            let span = w.span.as_millis() as i64;
            for (i, &t) in times.iter().enumerate() {
                let inside = times[i..].iter().take_while(|&&u| u < t + span).count();
                if inside > w.limit as usize {
                    found.push(format!("{inside} sends in {w} from {t} ms"));
                }
            }
        }
        found
    }

    #[test]
    fn a_burst_runs_at_the_teams_limits_and_never_over_them() {
        let times = burst(&TEAMS_CONVERSATION, 100);
        assert_eq!(
            violations(&TEAMS_CONVERSATION, &times),
            Vec::<String>::new()
        );
        let took = times.last().copied().unwrap_or_default();
        // 60 sends at 8 per 2.5 s, then 40 more once the 30 s window slides.
        assert!((35_000..50_000).contains(&took), "100 sends took {took} ms");
    }

    #[test]
    fn the_hourly_window_holds_with_per_minute_counts() {
        let windows = [Window::new(5, 3600)];
        let times = burst(&windows, 6);
        assert_eq!(times[..5], [0, 0, 0, 0, 0]);
        // The sixth waits for the first minute to leave the hour (and margin).
        let margin = SAFETY_MARGIN.as_millis() as i64;
        assert_eq!(times[5], 60_000 + 3_600_000 + margin);
    }

    #[test]
    fn the_bot_limit_spreads_a_broadcast_over_seconds() {
        let bot = RateLimits::default().bot_windows();
        let times = burst(&bot, 150);
        assert_eq!(violations(&bot, &times), Vec::<String>::new());
        assert!(times[149] >= 2_000 && times[149] < 4_000, "{}", times[149]);
    }

    #[test]
    fn a_slot_fills_a_hole_before_later_slots() {
        let windows = [Window::new(2, 1)];
        let mut state = RateState::default();
        assert_eq!(state.reserve(&windows, at(10_000), at(10_000)), at(10_000));
        assert_eq!(
            state.reserve(&windows, at(0), at(0)),
            at(0),
            "before a distant slot"
        );
        assert_eq!(state.reserve(&windows, at(0), at(0)), at(0));
        let margin = SAFETY_MARGIN.as_millis() as i64;
        assert_eq!(
            state.reserve(&windows, at(0), at(0)),
            at(1_000 + margin),
            "then after the full window"
        );
        let times: Vec<i64> = state.sends.iter().map(|t| t - BASE).collect();
        assert_eq!(violations(&windows, &times), Vec::<String>::new());
    }

    #[test]
    fn a_slot_asked_for_the_future_forgets_nothing_before_it() {
        let windows = [Window::new(2, 1)];
        let mut state = RateState::default();
        state.reserve(&windows, at(0), at(0));
        state.reserve(&windows, at(0), at(0));
        state.reserve(&windows, at(0), at(60_000));
        let margin = SAFETY_MARGIN.as_millis() as i64;
        assert_eq!(state.reserve(&windows, at(10), at(10)), at(1_000 + margin));
    }

    #[test]
    fn concurrent_backlogs_never_overfill_a_window() {
        // Interleaved requests from several workers, at different times.
        let mut state = RateState::default();
        let mut times = Vec::new();
        for n in 0..300 {
            let earliest = at((n * 7919) % 20_000);
            times.push(
                state
                    .reserve(&TEAMS_CONVERSATION, at(0), earliest)
                    .as_millisecond()
                    - BASE,
            );
        }
        times.sort_unstable();
        assert_eq!(
            violations(&TEAMS_CONVERSATION, &times),
            Vec::<String>::new()
        );
    }

    #[test]
    fn no_windows_admit_everything_at_once_and_keep_nothing() {
        let mut state = RateState::default();
        for _ in 0..100 {
            assert_eq!(state.reserve(&[], at(0), at(0)), at(0));
        }
        assert_eq!(state, RateState::default());
    }

    #[test]
    fn old_slots_are_forgotten() {
        let mut state = RateState::default();
        let windows = [Window::new(2, 1)];
        state.reserve(&windows, at(0), at(0));
        state.reserve(&windows, at(10), at(10));
        assert!(state.reserve(&windows, at(20), at(20)) > at(1_000));
        assert_eq!(state.reserve(&windows, at(10_000), at(10_000)), at(10_000));
        assert_eq!(state.sends, vec![at(10_000).as_millisecond()]);
        let margin = SAFETY_MARGIN.as_millis() as i64;
        assert_eq!(state.expires_at(&windows), at(11_000 + margin));
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
        let capped = RateLimits::from_env(&[("NUDGE_GLOBAL_RATE_LIMIT", "120")]).unwrap();
        assert_eq!(capped.global_windows(), vec![Window::new(120, 1)]);
        assert_eq!(capped.bot_windows(), vec![Window::new(50, 1)]);
        assert!(RateLimits::from_env(&[("NUDGE_GLOBAL_RATE_LIMIT", "x")]).is_err());
    }
}
