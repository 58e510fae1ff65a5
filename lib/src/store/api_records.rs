//! The records the webhook API keeps, shared by every adapter: idempotency
//! keys with the answer they got, what was accepted for delivery, and the
//! tally of a notification's deliveries.
//!
//! An idempotency record is claimed before the request acts (a conditional
//! write, [`IdempotencyClaim::decide`] applied atomically by the adapter)
//! and completed with the response after it. A retry finds the response
//! and replays it; a retry that arrives while the first call is still
//! running finds the lease and is told to come back; a call that failed on
//! our side releases the key, so a retry can act.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{IdempotencyKey, NotificationId};
use crate::notification::Target;

use super::DeliveryStatus;

/// An `Idempotency-Key` and what became of the call that first used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    /// The key, as the caller sent it.
    pub key: IdempotencyKey,
    /// A digest of the call (method, path, body): a reuse of the key for a
    /// different call is an error, not a replay.
    pub fingerprint: String,
    /// When the first call with it arrived.
    pub created_at: Timestamp,
    /// After this the key is forgotten and may be used afresh.
    pub expires_at: Timestamp,
    /// While the first call runs: how long it may hold the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    /// The first call's answer, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<StoredResponse>,
}

/// An HTTP answer, kept to be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

/// The answer to [`crate::store::WebhookStore::claim_idempotency_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free (never used, expired, or released): the record
    /// given to the claim is stored, and this call acts.
    Claimed,
    /// The key is held: answered, or still being answered.
    Existing(IdempotencyRecord),
}

impl IdempotencyClaim {
    /// Decides a claim from the record found under the key (the rule every
    /// adapter applies inside its atomic read-and-write). A key is free
    /// when there is no record, when it has expired, and when it has no
    /// answer and no live lease (released, or its call died).
    pub fn decide(existing: Option<IdempotencyRecord>, now: Timestamp) -> IdempotencyClaim {
        match existing {
            Some(record)
                if record.expires_at > now
                    && (record.response.is_some()
                        || record.lease_until.is_some_and(|until| until > now)) =>
            {
                IdempotencyClaim::Existing(record)
            }
            _ => IdempotencyClaim::Claimed,
        }
    }
}

/// A notification the webhook API accepted: what it targets and how many
/// recipients that was when it was accepted. Progress is measured against
/// it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedNotification {
    /// The notification's id, as the webhook answered it.
    pub id: NotificationId,
    /// Who it is for, as accepted (a broadcast stays one target).
    pub target: Target,
    /// How many recipients it was expanded to so far.
    pub recipients: u64,
    /// When the webhook accepted it.
    pub accepted_at: Timestamp,
    /// When it was asked to go out, if later than accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
}

/// How many deliveries are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCounts {
    /// Claimed by an attempt that has not reported back.
    pub pending: u64,
    /// Accepted by the channel.
    pub sent: u64,
    /// Failed in a way worth retrying; another attempt will come.
    pub retrying: u64,
    /// Given up.
    pub failed: u64,
    /// Not sent: the conversation is closed to the bot.
    pub blocked: u64,
}

impl DeliveryCounts {
    /// Counts `n` more deliveries in `status`.
    pub fn add(&mut self, status: DeliveryStatus, n: u64) {
        let slot = match status {
            DeliveryStatus::Pending => &mut self.pending,
            DeliveryStatus::Sent => &mut self.sent,
            DeliveryStatus::Retrying => &mut self.retrying,
            DeliveryStatus::Failed => &mut self.failed,
            DeliveryStatus::Blocked => &mut self.blocked,
        };
        *slot = slot.saturating_add(n);
    }

    /// Deliveries in any status.
    pub fn total(&self) -> u64 {
        self.pending + self.sent + self.retrying + self.failed + self.blocked
    }

    /// Deliveries that will not be attempted again.
    pub fn finished(&self) -> u64 {
        self.sent + self.failed + self.blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).unwrap()
    }

    fn record(lease: Option<i64>, answered: bool) -> IdempotencyRecord {
        IdempotencyRecord {
            key: "k-1".parse().unwrap(),
            fingerprint: "f".into(),
            created_at: at(0),
            expires_at: at(100),
            lease_until: lease.map(at),
            response: answered.then(|| StoredResponse {
                status: 202,
                body: "{}".into(),
            }),
        }
    }

    #[test]
    fn a_key_is_held_while_answered_or_leased_and_free_otherwise() {
        let held = |r: IdempotencyRecord, now| {
            matches!(
                IdempotencyClaim::decide(Some(r), at(now)),
                IdempotencyClaim::Existing(_)
            )
        };
        assert_eq!(
            IdempotencyClaim::decide(None, at(0)),
            IdempotencyClaim::Claimed
        );
        assert!(held(record(None, true), 50), "answered");
        assert!(held(record(Some(10), false), 5), "leased");
        assert!(!held(record(Some(10), false), 10), "lease ran out");
        assert!(!held(record(None, false), 5), "released");
        assert!(!held(record(None, true), 100), "expired");
    }

    #[test]
    fn counts_add_up() {
        let mut counts = DeliveryCounts::default();
        counts.add(DeliveryStatus::Sent, 3);
        counts.add(DeliveryStatus::Pending, 1);
        counts.add(DeliveryStatus::Blocked, 1);
        assert_eq!((counts.total(), counts.finished()), (5, 4));
    }
}
