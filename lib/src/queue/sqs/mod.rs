//! The SQS [`Queue`]: the port's semantics are SQS's own, so this adapter
//! mostly translates.
//!
//! - **Sending** goes out as `SendMessageBatch` calls of at most ten
//!   messages and 256 KiB each (`send`); entries SQS fails for its own
//!   reasons are sent again, entries it refuses as malformed are an error.
//! - **Delays** are `DelaySeconds`, and visibility timeouts
//!   `VisibilityTimeout`, rounded up to whole seconds and capped at SQS's
//!   limits ([`QueueLimits::SQS`]); later work goes through the reminder
//!   path.
//! - **Receiving** long-polls (`WaitTimeSeconds`, at most 20 s a call, so a
//!   longer wait is several calls) and reads the receive count and send time
//!   from the system attributes.
//! - **Stale receipts** are tolerated, as the port says: deleting or
//!   changing the visibility of a message by a receipt SQS no longer accepts
//!   (the message was deleted, received again, or is no longer in flight)
//!   does nothing and is not an error.
//! - **Dead letters**: SQS's redrive policy, configured on the queue
//!   (`template.yaml`), plus the notifier's own, with the reason, and
//!   redriving (`dead_letters`).
//! - **Tracing**: every message carries an `origin` attribute (the Lambda
//!   function, or `nudge`) and, when the sender runs under a trace, the
//!   `AWSTraceHeader` system attribute, so X-Ray and the logs can follow a
//!   notification from the request that sent it to the notifier.

mod dead_letters;
mod send;

pub use dead_letters::ERROR_ATTRIBUTE;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use jiff::Timestamp;
use tokio::time::Instant;

use super::{OutgoingMessage, Queue, QueueError, QueueLimits, ReceivedMessage};

const MAX_VISIBILITY: Duration = QueueLimits::SQS.max_visibility;

/// The name of the message attribute that says who sent a message.
pub const ORIGIN_ATTRIBUTE: &str = "origin";

/// The longest one `ReceiveMessage` call may wait (SQS's limit).
const MAX_WAIT: Duration = Duration::from_secs(20);

/// A [`Queue`] on one SQS queue.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    /// The `origin` attribute of sent messages.
    origin: String,
    /// Where [`Queue::dead_letter`] sends messages.
    dead_letter_url: Option<String>,
}

impl SqsQueue {
    /// The queue at `url`; messages sent through it say they come from
    /// `origin`.
    pub fn new(client: Client, url: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            origin: origin.into(),
            dead_letter_url: None,
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn receive_once(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(clamp(max, 1, 10))
            .visibility_timeout(seconds(visibility.min(MAX_VISIBILITY)))
            .wait_time_seconds(seconds(wait.min(MAX_WAIT)))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(backend)?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(received)
            .collect()
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        send::send_all(&self.client, &self.url, &self.origin, messages).await
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let received = self.receive_once(max, visibility, left).await?;
            if !received.is_empty() || left <= MAX_WAIT {
                return Ok(received);
            }
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let result = self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await;
        match result {
            Err(e)
                if e.as_service_error().is_some_and(|e| {
                    e.is_receipt_handle_is_invalid() || stale_receipt(e.code(), e.message())
                }) =>
            {
                Ok(())
            }
            other => other.map(drop).map_err(backend),
        }
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(timeout.min(MAX_VISIBILITY)))
            .send()
            .await;
        match result {
            Err(e)
                if e.as_service_error().is_some_and(|e| {
                    e.is_receipt_handle_is_invalid()
                        || e.is_message_not_inflight()
                        || stale_receipt(e.code(), e.message())
                }) =>
            {
                Ok(())
            }
            other => other.map(drop).map_err(backend),
        }
    }

    fn limits(&self) -> QueueLimits {
        QueueLimits::SQS
    }

    async fn dead_letter(&self, message: &ReceivedMessage, reason: &str) -> Result<(), QueueError> {
        dead_letters::bury(self, message, reason).await
    }

    async fn redrive_dead_letters(&self, max: usize) -> Result<usize, QueueError> {
        dead_letters::redrive(self, max).await
    }
}

/// SQS answers an expired or superseded receipt with a generic
/// `InvalidParameterValue` that names the receipt handle.
fn stale_receipt(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValue")
        && message.is_some_and(|m| m.to_ascii_lowercase().contains("receipt handle"))
}

/// A received SQS message in the port's terms.
fn received(message: Message) -> Result<ReceivedMessage, QueueError> {
    let attributes = message.attributes.unwrap_or_default();
    let attribute = |name: &MessageSystemAttributeName| attributes.get(name).map(String::as_str);
    Ok(ReceivedMessage {
        message_id: message.message_id.unwrap_or_default(),
        receipt: message
            .receipt_handle
            .ok_or_else(|| QueueError::Backend("a received message has no receipt".into()))?,
        body: message.body.unwrap_or_default(),
        receive_count: receive_count(attribute(
            &MessageSystemAttributeName::ApproximateReceiveCount,
        ))?,
        sent_at: sent_at(attribute(&MessageSystemAttributeName::SentTimestamp))?,
    })
}

/// The `ApproximateReceiveCount` attribute, as SQS reports it.
pub fn receive_count(value: Option<&str>) -> Result<u32, QueueError> {
    let value = value.unwrap_or("1");
    value
        .parse()
        .map_err(|_| QueueError::Backend(format!("receive count {value:?} is not a count")))
}

/// The `SentTimestamp` attribute (epoch milliseconds), as SQS reports it.
pub fn sent_at(value: Option<&str>) -> Result<Timestamp, QueueError> {
    let Some(value) = value else {
        return Ok(Timestamp::now());
    };
    value
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(|| QueueError::Backend(format!("sent timestamp {value:?} is not a time")))
}

/// Whole seconds, rounded up: SQS never shows a message earlier than asked.
fn seconds(duration: Duration) -> i32 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(whole).unwrap_or(i32::MAX)
}

fn clamp(n: usize, low: i32, high: i32) -> i32 {
    i32::try_from(n).unwrap_or(high).clamp(low, high)
}

fn backend<E, R>(error: SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    QueueError::Backend(DisplayErrorContext(&error).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(seconds(Duration::ZERO), 0);
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(2)), 2);
        assert_eq!(seconds(Duration::from_millis(2001)), 3);
        assert_eq!(seconds(QueueLimits::SQS.max_delay), 900);
    }

    #[test]
    fn system_attributes_parse_or_say_why_not() {
        assert_eq!(receive_count(Some("3")).unwrap(), 3);
        assert_eq!(receive_count(None).unwrap(), 1);
        assert!(receive_count(Some("x")).is_err());
        assert_eq!(
            sent_at(Some("1700000000123")).unwrap(),
            Timestamp::from_millisecond(1_700_000_000_123).unwrap()
        );
        assert!(sent_at(Some("soon")).is_err());
    }

    #[test]
    fn only_receipt_complaints_count_as_stale() {
        let expired = Some("The receipt handle has expired.");
        assert!(stale_receipt(Some("InvalidParameterValue"), expired));
        assert!(!stale_receipt(
            Some("InvalidParameterValue"),
            Some("bad queue")
        ));
        assert!(!stale_receipt(Some("AccessDenied"), expired));
    }
}
