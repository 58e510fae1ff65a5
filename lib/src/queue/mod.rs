//! The `Queue` port: pending notifications between the functions.
//!
//! Its semantics are SQS's, because that is what the notifier gets in the
//! cloud, and the notifier code must be the same everywhere:
//! - at-least-once: a received message stays on the queue, invisible for the
//!   visibility timeout, until it is deleted; then it comes back;
//! - delayed messages (`delay`, up to the adapter's
//!   [`QueueLimits::max_delay`]), in whole steps of its
//!   [`QueueLimits::delay_resolution`] (SQS: seconds);
//! - a receive count per message, and a dead-letter queue that takes a
//!   message once it has been received `max_receive_count` times, or when
//!   the notifier gives up on it ([`Queue::dead_letter`], with the reason);
//!   [`Queue::redrive_dead_letters`] puts dead letters back.
//!
//! What a backend can do (largest body, longest delay and visibility, its
//! delay step, long polling) is a property of the adapter,
//! [`Queue::limits`], not of the port: the notifier asks. Adapters:
//! [`embedded`] (SQLite on disk, the local host), `sqs` (feature `aws`) and
//! `azure` (Azure Storage queues, feature `azure`).

#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "local")]
pub mod embedded;
#[cfg(feature = "aws")]
pub mod sqs;

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

/// What one queue backend can do ([`Queue::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// The largest body a message may have; the adapter refuses larger
    /// ones with [`QueueError::TooLarge`], never truncating.
    pub max_body_bytes: usize,
    /// The longest delay a message can be sent with; a longer one is cut to
    /// it (the notifier re-delays the rest when the message comes).
    pub max_delay: Duration,
    /// The longest a received message can be hidden.
    pub max_visibility: Duration,
    /// The finest step in which the queue delays a message or sets its
    /// visibility. A duration between steps is rounded up: the queue never
    /// shows a message earlier than asked, but may show it up to a step
    /// later. The notifier asks for whole steps when it must meet a time
    /// closely (a rate-limit slot, [`crate::delivery`]) and waits out the
    /// rest itself.
    pub delay_resolution: Duration,
    /// Whether a receive can wait for a message to arrive.
    pub long_polling: bool,
}

impl QueueLimits {
    /// Amazon SQS: 256 KiB, delays up to 15 minutes, visibility up to
    /// 12 hours, both in whole seconds; long polling.
    pub const SQS: QueueLimits = QueueLimits {
        max_body_bytes: 256 * 1024,
        max_delay: Duration::from_secs(900),
        max_visibility: Duration::from_secs(12 * 3600),
        delay_resolution: Duration::from_secs(1),
        long_polling: true,
    };
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// The message: a notification as JSON.
    pub body: String,
    /// Invisible to receivers for this long after sending; capped at
    /// [`QueueLimits::max_delay`].
    pub delay: Duration,
}

/// A received message, invisible to others until its visibility runs out.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// The queue's id for the message.
    pub message_id: String,
    /// Names this receipt of the message: deleting or changing visibility
    /// needs it, and an older receipt no longer works once the message has
    /// been received again.
    pub receipt: String,
    /// The message as sent.
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    /// When it was first sent.
    pub sent_at: Timestamp,
}

/// A message the dead-letter queue holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The queue's id for the message.
    pub message_id: String,
    /// The message as sent.
    pub body: String,
    /// How many times it was received before it died.
    pub receive_count: u32,
    /// When it was first sent.
    pub sent_at: Timestamp,
    /// When it moved to the dead letters.
    pub dead_at: Timestamp,
    /// Why it died, when the notifier sent it there (the last error);
    /// `None` when the queue's receive limit did.
    pub reason: Option<String>,
}

/// Why a queue call failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The backend refused or could not be reached.
    #[error("queue backend failed: {0}")]
    Backend(String),
    /// The message (bytes) is larger than the queue takes (limit).
    #[error("message is too large: {0} bytes (limit {1})")]
    TooLarge(usize, usize),
}

/// The queue of pending notifications (see the module doc): what the
/// notifier receives from and every part enqueues to.
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

    /// Deletes a received message: it is done.
    ///
    /// A stale receipt (the message was deleted since, or received again)
    /// is not an error. Whether it still acts differs: SQS honours an
    /// older receipt of a message that is still on the queue, the embedded
    /// queue ignores it. Callers hold the latest receipt of what they
    /// process and rely on neither.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again after `timeout` (zero: now).
    /// A stale receipt is not an error, as for [`Queue::delete`].
    /// The adapter caps `timeout` at [`QueueLimits::max_visibility`] and
    /// rounds it up to whole [`QueueLimits::delay_resolution`] steps.
    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError>;

    /// What this backend can do.
    fn limits(&self) -> QueueLimits;

    /// Moves a received message to the dead-letter queue, with the reason
    /// it died, and deletes it here. A stale receipt moves nothing.
    async fn dead_letter(&self, message: &ReceivedMessage, reason: &str) -> Result<(), QueueError>;

    /// Moves up to `max` dead letters, oldest first, back onto the queue,
    /// visible now and with their receive counts reset. Returns how many
    /// moved.
    async fn redrive_dead_letters(&self, max: usize) -> Result<usize, QueueError>;
}
