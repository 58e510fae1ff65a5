//! What to do about a failed send, by the Connector's documented status
//! codes (see REFERENCE.md, "Status codes").
//!
//! - 429: wait as long as `Retry-After` says, else back off;
//! - 412, 502, 503, 504, a network failure, a token-endpoint failure: back off
//!   and retry;
//! - 403 blocked / not in roster and 404 conversation not found: the
//!   conversation is closed to the bot until the user writes again;
//! - everything else (400, 401, 403, 413, 500, ...): retrying cannot help.
//!
//! Backoff is exponential with full jitter, so a burst of failures does not
//! come back as a burst of retries.

use std::time::Duration;

use rand::RngExt;

use crate::connector::ConnectorError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try again; after the channel's own `Retry-After` when it gave one.
    Retry(Option<Duration>),
    /// The user blocked or removed the bot: stop sending to the conversation.
    Blocked(String),
    /// The conversation no longer exists: stop sending to it.
    Gone(String),
    /// This notification cannot be delivered; nothing else changes.
    Fail(String),
}

/// 403 codes that mean "this conversation does not want the bot".
const BLOCKED_CODES: [&str; 4] = [
    "ConversationBlockedByUser",
    "MessageWritesBlocked",
    "BotNotInConversationRoster",
    "209",
];

pub fn classify(error: &ConnectorError) -> Verdict {
    let ConnectorError::Status {
        status,
        code,
        retry_after,
        ..
    } = error
    else {
        return match error {
            ConnectorError::Untrusted(_) | ConnectorError::InvalidId(_) => {
                Verdict::Fail(error.to_string())
            }
            _ => Verdict::Retry(None),
        };
    };
    let code = code.as_deref().unwrap_or_default();
    match status {
        429 => Verdict::Retry(*retry_after),
        408 | 412 | 502 | 503 | 504 => Verdict::Retry(*retry_after),
        403 if BLOCKED_CODES.contains(&code) => Verdict::Blocked(code.to_owned()),
        404 if code == "ConversationNotFound" => Verdict::Gone(code.to_owned()),
        _ => Verdict::Fail(error.to_string()),
    }
}

/// By default, the first retry waits up to this long; each further one up
/// to twice as long as the one before (`NUDGE_RETRY_BASE_MS`).
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// No backoff is longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// No backoff is shorter than this.
const BACKOFF_FLOOR_MS: u64 = 100;

/// Full-jitter backoff for the `attempt`-th failure (1-based): a random wait
/// between zero and `min(cap, base * 2^(attempt-1))`, never under 100 ms.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(BACKOFF_CAP);
    let top = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let millis = rand::rng().random_range(BACKOFF_FLOOR_MS..=top.max(BACKOFF_FLOOR_MS));
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, code: Option<&str>, retry_after: Option<u64>) -> ConnectorError {
        ConnectorError::Status {
            status,
            code: code.map(str::to_owned),
            message: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn retries_what_the_docs_say_may_pass() {
        assert_eq!(
            classify(&status(429, Some("Throttled"), Some(3))),
            Verdict::Retry(Some(Duration::from_secs(3)))
        );
        for code in [412, 429, 502, 503, 504] {
            assert!(matches!(
                classify(&status(code, None, None)),
                Verdict::Retry(_)
            ));
        }
        assert_eq!(
            classify(&ConnectorError::Network("reset".into())),
            Verdict::Retry(None)
        );
    }

    #[test]
    fn closes_conversations_that_refuse_the_bot() {
        for code in [
            "ConversationBlockedByUser",
            "MessageWritesBlocked",
            "BotNotInConversationRoster",
        ] {
            assert_eq!(
                classify(&status(403, Some(code), None)),
                Verdict::Blocked(code.into())
            );
        }
        assert_eq!(
            classify(&status(404, Some("ConversationNotFound"), None)),
            Verdict::Gone("ConversationNotFound".into())
        );
    }

    #[test]
    fn gives_up_on_what_retrying_cannot_fix() {
        for (code, name) in [
            (400, "BadArgument"),
            (401, "BotNotRegistered"),
            (403, "BotDisabledByAdmin"),
            (404, "ActivityNotFoundInConversation"),
            (413, "MessageSizeTooBig"),
            (500, "ServiceError"),
        ] {
            assert!(
                matches!(classify(&status(code, Some(name), None)), Verdict::Fail(_)),
                "{code} {name}"
            );
        }
        assert!(matches!(
            classify(&ConnectorError::Untrusted("http://x".into())),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn backoff_grows_within_its_ceiling() {
        for attempt in 1..40 {
            let ceiling = BACKOFF_BASE
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(BACKOFF_CAP);
            let wait = backoff(BACKOFF_BASE, attempt);
            assert!(
                wait >= Duration::from_millis(100)
                    && wait <= ceiling.max(Duration::from_millis(100))
            );
        }
    }
}
