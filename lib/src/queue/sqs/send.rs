//! Sending in batches: `SendMessageBatch` takes at most ten entries and
//! 256 KiB of bodies at once, and answers per entry.
//!
//! An entry can fail while the others succeed. SQS says whether that was
//! the sender's fault (a malformed entry: sending it again cannot help, so
//! it is an error) or its own (throttling, an internal error: the failed
//! entries alone are sent again, a few times, with a growing pause). A send
//! that fails part-way has still sent the other entries; a caller that
//! retries the whole send may duplicate them, which the notifier's delivery
//! records absorb.

use std::time::Duration;

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;

use super::{backend, seconds, ORIGIN_ATTRIBUTE};
use crate::queue::{OutgoingMessage, QueueError, QueueLimits};

const MAX_BODY_BYTES: usize = QueueLimits::SQS.max_body_bytes;
const MAX_DELAY: Duration = QueueLimits::SQS.max_delay;

/// Entries per `SendMessageBatch` (SQS's limit).
const BATCH_ENTRIES: usize = 10;
/// Bytes of bodies per `SendMessageBatch`, leaving room for attributes.
const BATCH_BYTES: usize = MAX_BODY_BYTES - 4 * 1024;
/// Times the entries SQS failed for its own reasons are sent again.
const RETRIES: u32 = 3;

/// The environment variable Lambda sets to the current X-Ray trace header.
const TRACE_ENV: &str = "_X_AMZN_TRACE_ID";

pub async fn send_all(
    client: &Client,
    url: &str,
    origin: &str,
    messages: Vec<OutgoingMessage>,
) -> Result<(), QueueError> {
    if let Some(big) = messages.iter().find(|m| m.body.len() > MAX_BODY_BYTES) {
        return Err(QueueError::TooLarge(big.body.len(), MAX_BODY_BYTES));
    }
    let trace = std::env::var(TRACE_ENV).ok().filter(|t| !t.is_empty());
    for batch in batches(&messages) {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(n, message)| entry(n, message, origin, trace.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        send_batch(client, url, entries).await?;
    }
    Ok(())
}

/// Splits messages into batches SQS accepts, in order.
fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let full = i - start == BATCH_ENTRIES || bytes + message.body.len() > BATCH_BYTES;
        if i > start && full {
            batches.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += message.body.len();
    }
    if start < messages.len() {
        batches.push(&messages[start..]);
    }
    batches
}

fn entry(
    n: usize,
    message: &OutgoingMessage,
    origin: &str,
    trace: Option<&str>,
) -> Result<SendMessageBatchRequestEntry, QueueError> {
    let origin = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(origin)
        .build()
        .map_err(invalid)?;
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(n.to_string())
        .message_body(&message.body)
        .delay_seconds(seconds(message.delay.min(MAX_DELAY)))
        .message_attributes(ORIGIN_ATTRIBUTE, origin);
    if let Some(trace) = trace {
        let header = MessageSystemAttributeValue::builder()
            .data_type("String")
            .string_value(trace)
            .build()
            .map_err(invalid)?;
        entry = entry
            .message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, header);
    }
    entry.build().map_err(invalid)
}

/// Sends one batch, sending again what SQS failed on its side.
async fn send_batch(
    client: &Client,
    url: &str,
    mut entries: Vec<SendMessageBatchRequestEntry>,
) -> Result<(), QueueError> {
    for attempt in 0..=RETRIES {
        let output = client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries.clone()))
            .send()
            .await
            .map_err(backend)?;
        if output.failed.is_empty() {
            return Ok(());
        }
        if let Some(refused) = output.failed.iter().find(|f| f.sender_fault) {
            return Err(QueueError::Backend(format!(
                "SQS refused {} of {} messages: {} {}",
                output.failed.len(),
                entries.len(),
                refused.code,
                refused.message.as_deref().unwrap_or_default()
            )));
        }
        if attempt == RETRIES {
            let first = &output.failed[0];
            return Err(QueueError::Backend(format!(
                "SQS failed {} messages {} times: {} {}",
                output.failed.len(),
                RETRIES + 1,
                first.code,
                first.message.as_deref().unwrap_or_default()
            )));
        }
        let failed: Vec<&str> = output.failed.iter().map(|f| f.id.as_str()).collect();
        entries.retain(|e| failed.contains(&e.id.as_str()));
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    Ok(())
}

fn invalid(error: aws_sdk_sqs::error::BuildError) -> QueueError {
    QueueError::Backend(format!("cannot build an SQS message: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(bytes: usize) -> OutgoingMessage {
        OutgoingMessage {
            body: "x".repeat(bytes),
            delay: Duration::ZERO,
        }
    }

    fn sizes(messages: &[OutgoingMessage]) -> Vec<usize> {
        batches(messages).iter().map(|b| b.len()).collect()
    }

    #[test]
    fn batches_hold_at_most_ten_messages() {
        let messages: Vec<_> = (0..23).map(|_| sized(10)).collect();
        assert_eq!(sizes(&messages), [10, 10, 3]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn batches_stay_under_the_size_limit() {
        let big = BATCH_BYTES / 2;
        let messages = [sized(big), sized(big), sized(1), sized(MAX_BODY_BYTES)];
        assert_eq!(sizes(&messages), [2, 1, 1]);
    }
}
