//! How much one conversation, or one user, may hold at once: pending
//! reminders, unfinished jobs, subscriptions.
//!
//! Every reminder and job ends up as queued notifications, and every
//! conversation's sends are pinned at the channel's per-conversation limit
//! (Teams: 8 in 2 s, 60 in 30 s), so a conversation that sets 200
//! `remind me every 1 minute` grows the queue without bound and crowds out
//! everyone else. A cap stops that at the door with a reply that says what
//! to do. Counts come from indexes of live records and stop at the cap;
//! two requests racing at the last free place may both get it, which
//! bounds the excess by the requests in flight, not by time.

use crate::env::{number, ConfigError, Env};
use crate::ids::ConversationKey;
use crate::store::{Holder, Store, StoreError};

/// What one conversation or user may hold at once (the `NUDGE_MAX_*`
/// settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Pending reminders per conversation (`NUDGE_MAX_REMINDERS_PER_CONVERSATION`).
    pub reminders_per_conversation: usize,
    /// Pending reminders a user set, across conversations (`NUDGE_MAX_REMINDERS_PER_USER`).
    pub reminders_per_user: usize,
    /// Unfinished jobs per conversation (`NUDGE_MAX_JOBS_PER_CONVERSATION`).
    pub jobs_per_conversation: usize,
    /// Unfinished jobs a user started, across conversations (`NUDGE_MAX_JOBS_PER_USER`).
    pub jobs_per_user: usize,
    /// Subscriptions (the general list and tags) per conversation (`NUDGE_MAX_TAGS_PER_CONVERSATION`).
    pub subscriptions_per_conversation: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            reminders_per_conversation: 25,
            reminders_per_user: 50,
            jobs_per_conversation: 10,
            jobs_per_user: 20,
            subscriptions_per_conversation: 20,
        }
    }
}

impl Caps {
    /// Reads the `NUDGE_MAX_*` settings; the defaults unless set.
    pub fn from_env(env: &dyn Env) -> Result<Caps, ConfigError> {
        let d = Caps::default();
        let cap = |variable, default| {
            number(
                env,
                variable,
                default,
                |n| (1..=10_000).contains(n),
                "a number from 1 to 10000",
            )
        };
        Ok(Caps {
            reminders_per_conversation: cap(
                "NUDGE_MAX_REMINDERS_PER_CONVERSATION",
                d.reminders_per_conversation,
            )?,
            reminders_per_user: cap("NUDGE_MAX_REMINDERS_PER_USER", d.reminders_per_user)?,
            jobs_per_conversation: cap("NUDGE_MAX_JOBS_PER_CONVERSATION", d.jobs_per_conversation)?,
            jobs_per_user: cap("NUDGE_MAX_JOBS_PER_USER", d.jobs_per_user)?,
            subscriptions_per_conversation: cap(
                "NUDGE_MAX_TAGS_PER_CONVERSATION",
                d.subscriptions_per_conversation,
            )?,
        })
    }
}

/// A cap that a request would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapReached {
    /// What was counted.
    pub what: Capped,
    /// Whose cap: the conversation's, or the user's across conversations.
    pub per_user: bool,
    /// The cap.
    pub cap: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capped {
    Reminders,
    Jobs,
    Subscriptions,
}

impl std::fmt::Display for CapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.what {
            Capped::Reminders => "pending reminders",
            Capped::Jobs => "unfinished jobs",
            Capped::Subscriptions => "subscriptions",
        };
        let whose = if self.per_user {
            "one user may have across conversations"
        } else {
            "one conversation may have"
        };
        write!(f, "{} {what} is the most {whose}", self.cap)
    }
}

/// Checks a conversation's and (when a user asks) that user's count of
/// `what` against their caps; the first one reached, if any.
pub(super) async fn check(
    store: &dyn Store,
    caps: &Caps,
    what: Capped,
    owner: &ConversationKey,
    user: Option<&str>,
) -> Result<Option<CapReached>, StoreError> {
    let (per_conversation, per_user) = match what {
        Capped::Reminders => (caps.reminders_per_conversation, caps.reminders_per_user),
        Capped::Jobs => (caps.jobs_per_conversation, caps.jobs_per_user),
        Capped::Subscriptions => {
            let held = store.count_subscriptions(owner).await?;
            let cap = caps.subscriptions_per_conversation;
            return Ok((held >= cap as u64).then_some(CapReached {
                what,
                per_user: false,
                cap,
            }));
        }
    };
    let holders = [
        Some((Holder::Conversation(owner), per_conversation, false)),
        user.map(|user| (Holder::User(user), per_user, true)),
    ];
    for (holder, cap, is_user) in holders.into_iter().flatten() {
        let held = match what {
            Capped::Reminders => store.count_pending_reminders(holder, cap).await?,
            _ => store.count_running_jobs(holder, cap).await?,
        };
        if held >= cap {
            return Ok(Some(CapReached {
                what,
                per_user: is_user,
                cap,
            }));
        }
    }
    Ok(None)
}
