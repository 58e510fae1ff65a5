//! What delivering a notification also does: the open door for side
//! effects. `delivery` knows claims, limits, retries and outcomes, and
//! nothing of what a notification is *about*; a [`DeliveryHook`] does. nudge's
//! own bookkeeping is two hooks that the assembly registers
//! (`bot::JobCompletion`: a job is marked complete before its message goes
//! out; `schedule::ReminderStillWanted`: a cancelled reminder's occurrence
//! is not sent), and a library user adds theirs for their own
//! [`Reason::Custom`](crate::notification::Reason::Custom) notifications
//! (`assemble::Assembly::with_delivery_hook`).
//!
//! A hook runs inside a delivery that may be retried or, after a crash,
//! repeated: [`DeliveryHook::before_send`] can run more than once for one
//! notification and must be idempotent (a conditional write, as the job
//! hook's). [`DeliveryHook::after_outcome`] runs once the outcome is
//! recorded, at most once per notification; a crash between the record and
//! the hook loses the call, so it suits what may be lost (counting,
//! telling someone), not what must happen (do that before the send).

use async_trait::async_trait;
use jiff::Timestamp;

use crate::notification::Notification;
use crate::store::{DeliveryRecord, StoreError};

/// What a hook says before a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeforeSend {
    /// Go on (the next hook, then the send).
    Send,
    /// Do not send: the delivery ends failed with this reason, and nothing
    /// reaches the chat.
    Refuse(String),
}

/// What delivering a notification also does (see the module doc): both
/// methods do nothing unless implemented.
#[async_trait]
pub trait DeliveryHook: Send + Sync {
    /// Called with the delivery claimed and the recipient found active,
    /// before the rate-limit slot and the send. An error is the store's:
    /// the message is retried later, the send not attempted.
    async fn before_send(
        &self,
        _notification: &Notification,
        _now: Timestamp,
    ) -> Result<BeforeSend, StoreError> {
        Ok(BeforeSend::Send)
    }

    /// Called once the delivery's final outcome is recorded (`record`:
    /// sent, failed, blocked, dead-lettered). An error is logged; the
    /// outcome stands.
    async fn after_outcome(
        &self,
        _notification: &Notification,
        _record: &DeliveryRecord,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
