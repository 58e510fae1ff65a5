//! The Teams rate limits as a channel enforces them: sliding windows over
//! the arrival times of accepted sends, per conversation (7 in any
//! second, 8 in any 2 s, 60 in any 30 s, 1800 in any hour) and per app in
//! one tenant (50 in any second; activities without a tenant share one
//! bucket). A send that would break one is refused (the channel answers
//! 429) and not counted.
//!
//! One implementation for the two stand-in channels that enforce the
//! limits: the benchmark's sink ([`super::Sink`]) and the test suite's fake
//! channel, so that what the benchmark measures and what the tests assert
//! are held to the same rule.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The per-conversation limits: (sends, window).
pub const CONVERSATION: [(usize, Duration); 4] = [
    (7, Duration::from_secs(1)),
    (8, Duration::from_secs(2)),
    (60, Duration::from_secs(30)),
    (1800, Duration::from_secs(3600)),
];

/// The app's limit in one tenant: (sends, window).
pub const APP_PER_TENANT: (usize, Duration) = (50, Duration::from_secs(1));

/// The accepted sends so far, per conversation and per tenant.
#[derive(Debug, Default)]
pub struct TeamsLimits {
    conversations: HashMap<String, Vec<Instant>>,
    /// Per tenant (`""`: no tenant).
    tenants: HashMap<String, Vec<Instant>>,
}

impl TeamsLimits {
    /// Whether a send to `conversation` (of `tenant`) arriving at
    /// `arrived` keeps every window; if it does, it is counted.
    pub fn admit(&mut self, conversation: &str, tenant: Option<&str>, arrived: Instant) -> bool {
        self.check(conversation, tenant, arrived).is_ok()
    }

    /// [`TeamsLimits::admit`], saying which window a refused send broke
    /// and when the sends it counted arrived, for a test's failure message.
    pub fn check(
        &mut self,
        conversation: &str,
        tenant: Option<&str>,
        arrived: Instant,
    ) -> Result<(), Refusal> {
        let (app_limit, app_window) = APP_PER_TENANT;
        let app = self
            .tenants
            .entry(tenant.unwrap_or_default().to_owned())
            .or_default();
        app.retain(|&t| arrived.saturating_duration_since(t) < app_window);
        let sends = self
            .conversations
            .entry(conversation.to_owned())
            .or_default();
        let within = |window: Duration| -> Vec<Instant> {
            sends
                .iter()
                .copied()
                .filter(|&t| arrived.saturating_duration_since(t) < window)
                .collect()
        };
        let refusal =
            |limit: usize, window: Duration, counted: &[Instant], whose: String| Refusal {
                limit,
                window,
                whose,
                counted_ms_before: counted
                    .iter()
                    .map(|&t| arrived.saturating_duration_since(t).as_millis())
                    .collect(),
            };
        if app.len() >= app_limit {
            let whose = format!("the app in tenant {:?}", tenant.unwrap_or_default());
            return Err(refusal(app_limit, app_window, app, whose));
        }
        for &(limit, window) in &CONVERSATION {
            let counted = within(window);
            if counted.len() >= limit {
                let whose = format!("conversation {conversation}");
                return Err(refusal(limit, window, &counted, whose));
            }
        }
        sends.push(arrived);
        app.push(arrived);
        Ok(())
    }
}

/// A send refused by [`TeamsLimits::check`]: the window it broke and how
/// long before it the sends that window counted arrived.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The window's limit.
    pub limit: usize,
    /// Its length.
    pub window: Duration,
    /// Whose window: a conversation's or a tenant's.
    pub whose: String,
    /// When the sends it counted arrived, in milliseconds before this one.
    pub counted_ms_before: Vec<u128>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in {:?} for {}: the counted sends arrived {:?} ms before it",
            self.limit, self.window, self.whose, self.counted_ms_before
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_slide_over_arrivals() {
        let mut limits = TeamsLimits::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        for n in 0..7 {
            assert!(limits.admit("c", None, at(n)), "send {n}");
        }
        assert!(
            !limits.admit("c", None, at(999)),
            "an eighth within a second"
        );
        assert!(
            limits.admit("c", None, at(1_000)),
            "the first has left the window"
        );
        let refusal = limits.check("c", None, at(1_001)).expect_err("8 in 2 s");
        assert_eq!((refusal.limit, refusal.window), (8, Duration::from_secs(2)));
        assert_eq!(
            refusal.counted_ms_before,
            [1_001, 1_000, 999, 998, 997, 996, 995, 1]
        );
        // The app's 50 a second, per tenant.
        for n in 0..50 {
            assert!(limits.admit(&format!("b{n}"), Some("t"), at(5_000)));
        }
        assert!(!limits.admit("x", Some("t"), at(5_999)));
        assert!(
            limits.admit("x", Some("other"), at(5_999)),
            "another tenant's bucket"
        );
        assert!(limits.admit("x", Some("t"), at(6_000)));
    }
}
