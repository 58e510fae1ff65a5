//! Taking a rate-limit slot before a send (the rule is in [`super::rate`]).
//!
//! The conversation's limit gives a slot first, then the bot's, no earlier
//! than the conversation's; each is an atomic reservation in the store.
//! A slot now sends now. A later slot is kept in the delivery record, the
//! attempt gives its claim back uncounted, and the message returns to the
//! queue until then: waiting for room is not a failure. When it comes back
//! it sends in the slot it holds, without asking again.

use std::time::Duration;

use jiff::Timestamp;

use crate::ids::ConversationKey;
use crate::store::{DeliveryRecord, StoreError};

use super::rate::Limited;
use super::Notifier;

impl Notifier {
    /// `None`: send now. `Some(wait)`: the record holds a slot that far
    /// ahead; come back then.
    pub(super) async fn slot(
        &self,
        record: &mut DeliveryRecord,
        key: &ConversationKey,
        now: Timestamp,
    ) -> Result<Option<Duration>, StoreError> {
        let at = match record.send_at {
            Some(held) => held,
            None => {
                let limits = &self.settings.rate_limits;
                let conversation = Limited::Conversation(key.clone());
                let first = self
                    .store
                    .reserve_send(&conversation, &limits.conversation, now)
                    .await?;
                self.store
                    .reserve_send(&Limited::Bot, &limits.bot_windows(), first)
                    .await?
            }
        };
        match super::time_until(Some(at), now) {
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

    /// Gives back a claim taken for an attempt that did not send: the
    /// attempt is not counted and the next one may claim at once.
    pub(super) async fn release(&self, record: &mut DeliveryRecord) -> Result<(), StoreError> {
        record.attempts = record.attempts.saturating_sub(1);
        record.lease_until = None;
        record.updated_at = Timestamp::now();
        self.store.put_delivery(record).await
    }
}
