//! The `Queue` port: pending notifications between the functions.
//!
//! Its semantics are SQS's, because that is what the notifier gets in the
//! cloud, and the notifier code must be the same everywhere:
//! - at-least-once: a received message stays on the queue, invisible for the
//!   visibility timeout, until it is deleted; then it comes back;
//! - delayed messages (`delay`, up to [`MAX_DELAY`]);
//! - a receive count per message, and a dead-letter queue that takes a
//!   message once it has been received `max_receive_count` times.
//!
//! Adapters: [`embedded`] (SQLite on disk, the local host) and SQS.

pub mod embedded;

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

/// The longest delay a message can be sent with (SQS: 15 minutes). Later
/// work is scheduled through the reminder path instead.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub body: String,
    /// Invisible to receivers for this long after sending; capped at
    /// [`MAX_DELAY`].
    pub delay: Duration,
}

/// A received message, invisible to others until its visibility runs out.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: String,
    /// Names this receipt of the message: deleting or changing visibility
    /// needs it, and an older receipt no longer works once the message has
    /// been received again.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    pub sent_at: Timestamp,
}

/// A message the dead-letter queue holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at: Timestamp,
    pub dead_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue backend failed: {0}")]
    Backend(String),
    #[error("message is too large: {0} bytes (limit {1})")]
    TooLarge(usize, usize),
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages (the adapter batches as its backend needs).
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;

    /// Receives up to `max` visible messages, making them invisible for
    /// `visibility`. Waits up to `wait` for the first one (long polling).
    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes a received message: it is done. A stale receipt is ignored.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again after `timeout` (zero: now).
    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError>;
}
