//! The notifier's SQS batches: each record through [`Notifier::process`],
//! several at once, and a partial batch response naming exactly the
//! records to try again.
//!
//! The event source deletes every record the response does not name, so a
//! record is named only when the notifier says it should come back
//! ([`Disposition::RetryAfter`]: `delivery::settle` with
//! [`Trigger::PartialBatch`]); then its visibility is set to the wait the
//! notifier asked for, which is when SQS offers it again. SQS takes whole
//! seconds and rounds up; a wait for a rate-limit slot already comes in
//! whole seconds, rounded down, because the notifier asks the queue for
//! its resolution and waits out the last fraction of a second itself
//! (`delivery::limiter`), so the record is back just before its slot,
//! not up to a second after it. A record that can
//! never succeed (unreadable, for an unknown conversation, refused for good
//! by the channel) is `Done` with its failure recorded, and not named: SQS
//! would only hand it back to fail again until it dead-letters. A record
//! that failed as often as it may ([`Disposition::DeadLetter`]) is moved
//! to the dead-letter queue with its last error, and not named either.
//! Nor is one that must wait again after several receives: it goes back
//! as a fresh copy, so that waiting for slots does not use up the queue's
//! `maxReceiveCount` (`delivery::settle`).
//!
//! [`Disposition::RetryAfter`]: crate::delivery::Disposition::RetryAfter
//! [`Disposition::DeadLetter`]: crate::delivery::Disposition::DeadLetter

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsMessage};
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::stream::{self, StreamExt};
use tracing::Instrument;

use crate::delivery::{settle, Answer, Notifier, Trigger};
use crate::queue::sqs::{receive_count, sent_at, ORIGIN_ATTRIBUTE};
use crate::queue::{Queue, ReceivedMessage};

/// The system attribute that carries the sender's X-Ray trace header.
const TRACE_ATTRIBUTE: &str = "AWSTraceHeader";

/// Processes SQS batches for the notifier function.
pub struct BatchProcessor {
    notifier: Arc<Notifier>,
    queue: Arc<dyn Queue>,
    /// Records processed at once.
    concurrency: usize,
}

impl BatchProcessor {
    /// A processor delivering through `notifier`, `concurrency` records at once,
    /// settling on `queue` what the event source cannot.
    pub fn new(notifier: Arc<Notifier>, queue: Arc<dyn Queue>, concurrency: usize) -> Self {
        Self {
            notifier,
            queue,
            concurrency: concurrency.max(1),
        }
    }

    /// Processes a batch; the response names the records to retry.
    pub async fn process(&self, event: SqsEvent) -> SqsBatchResponse {
        let total = event.records.len();
        let failures: Vec<BatchItemFailure> = stream::iter(event.records)
            .map(|record| self.record(record))
            .buffer_unordered(self.concurrency)
            .filter_map(|retry| async move { retry })
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect()
            .await;
        tracing::info!(records = total, retried = failures.len(), "batch processed");
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        response
    }

    /// Processes one record; returns its id if it must be retried.
    async fn record(&self, record: SqsMessage) -> Option<String> {
        let Some(message_id) = record.message_id.clone() else {
            tracing::error!("an SQS record without a message id cannot be reported; dropped");
            return None;
        };
        let span = tracing::info_span!(
            "record",
            message_id = %message_id,
            origin = record
                .message_attributes
                .get(ORIGIN_ATTRIBUTE)
                .and_then(|a| a.string_value.as_deref())
                .unwrap_or("unknown"),
            trace = record.attributes.get(TRACE_ATTRIBUTE).map(String::as_str).unwrap_or("none"),
        );
        async {
            let message = match received(record) {
                Ok(message) => message,
                Err(why) => {
                    tracing::error!(%why, "unreadable SQS record dropped");
                    return None;
                }
            };
            let disposition = self.notifier.process(&message).await;
            match settle(
                self.queue.as_ref(),
                &message,
                disposition,
                Trigger::PartialBatch,
            )
            .await
            {
                Answer::Settled => None,
                Answer::Again => Some(message_id),
            }
        }
        .instrument(span)
        .await
    }
}

/// An SQS event record in the queue port's terms.
fn received(record: SqsMessage) -> Result<ReceivedMessage, String> {
    let attribute = |name: &str| record.attributes.get(name).map(String::as_str);
    Ok(ReceivedMessage {
        receive_count: receive_count(attribute("ApproximateReceiveCount"))
            .map_err(|e| e.to_string())?,
        sent_at: sent_at(attribute("SentTimestamp")).map_err(|e| e.to_string())?,
        message_id: record.message_id.unwrap_or_default(),
        receipt: record
            .receipt_handle
            .ok_or("the record has no receipt handle")?,
        body: record.body.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: serde_json::Value) -> SqsMessage {
        serde_json::from_value(value).expect("an SQS record")
    }

    #[test]
    fn records_become_received_messages() {
        let message = received(record(serde_json::json!({
            "messageId": "m-1", "receiptHandle": "r-1", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000000"},
            "messageAttributes": {}
        })))
        .expect("a complete record");
        assert_eq!(
            (
                message.message_id.as_str(),
                message.receipt.as_str(),
                message.receive_count
            ),
            ("m-1", "r-1", 3)
        );
        assert_eq!(message.sent_at.as_millisecond(), 1_700_000_000_000);
    }

    #[test]
    fn records_without_a_receipt_or_with_bad_attributes_are_refused() {
        let no_receipt = record(serde_json::json!({"messageId": "m-1", "body": "{}"}));
        assert!(received(no_receipt).is_err());
        let bad_count = record(serde_json::json!({
            "messageId": "m-1", "receiptHandle": "r-1",
            "attributes": {"ApproximateReceiveCount": "many"}
        }));
        assert!(received(bad_count).is_err());
    }
}
