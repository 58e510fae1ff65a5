//! Taking a rate-limit slot before a send (the rule is in [`super::rate`]).
//!
//! The conversation's limit gives a slot first, then the bot's, no earlier
//! than the conversation's; each is an atomic reservation in the store.
//! A slot now sends now. A later slot is kept in the delivery record, the
//! attempt gives its claim back uncounted, and the message returns to the
//! queue until then: waiting for room is not a failure. When it comes back
//! it sends in the slot it holds, without asking again, unless it is more
//! than [`LATE`] late (a busy worker), when it takes a new one.

use std::time::Duration;

use jiff::Timestamp;

use crate::ids::ConversationKey;
use crate::store::{DeliveryRecord, StoreError};

use super::rate::Limited;
use super::Notifier;

/// How late a message may come back for its slot and still use it. Later
/// than this, sending could bunch it with the slots after it, so it takes
/// a new slot instead (the old one stays counted, which only errs on the
/// safe side). Well inside [`super::rate::SAFETY_MARGIN`], which must also
/// absorb the network's varying delay.
pub const LATE: Duration = Duration::from_millis(250);

/// How often the conversation and the bot are asked for a slot before the
/// notifier takes what it got.
const AGREEMENT_ROUNDS: u32 = 3;

impl Notifier {
    /// `None`: send now. `Some(wait)`: the record holds a slot that far
    /// ahead; come back then.
    pub(super) async fn slot(
        &self,
        record: &mut DeliveryRecord,
        key: &ConversationKey,
    ) -> Result<Option<Duration>, StoreError> {
        let now = Timestamp::now();
        let at = match record.send_at {
            Some(held) if !is_late(held, now) => held,
            _ => self.reserve(key, now).await?,
        };
        match super::time_until(Some(at), Timestamp::now()) {
            None => {
                record.send_at = None;
                Ok(None)
            }
            Some(wait) => {
                record.send_at = Some(at);
                Ok(Some(wait))
            }
        }
    }

    /// A slot from the conversation's limit, then one from the bot's no
    /// earlier. When the bot's is later (the bot is at its limit), the
    /// conversation's would be off by the difference, so the conversation
    /// is asked again from there (the slots given up stay counted, which
    /// errs on the safe side) until the two agree.
    async fn reserve(
        &self,
        key: &ConversationKey,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let limits = &self.settings.rate_limits;
        let conversation = Limited::Conversation(key.clone());
        let bot_windows = limits.bot_windows();
        let mut earliest = now;
        let mut round = 0;
        loop {
            let first = self
                .store
                .reserve_send(&conversation, &limits.conversation, earliest)
                .await?;
            let slot = self
                .store
                .reserve_send(&Limited::Bot, &bot_windows, first)
                .await?;
            round += 1;
            if !is_late(first, slot) || round == AGREEMENT_ROUNDS {
                return Ok(slot);
            }
            earliest = slot;
        }
    }

    /// Gives back a claim taken for an attempt that did not send: the
    /// attempt is not counted and the next one may claim at once.
    pub(super) async fn release(&self, record: &mut DeliveryRecord) -> Result<(), StoreError> {
        record.attempts = record.attempts.saturating_sub(1);
        record.lease_until = None;
        record.updated_at = Timestamp::now();
        self.store.put_delivery(record).await
    }
}

fn is_late(slot: Timestamp, now: Timestamp) -> bool {
    super::time_until(Some(now), slot).is_some_and(|late| late > LATE)
}
