//! Dead letters on SQS: the queue's redrive policy moves a message that was
//! received too often to the dead-letter queue by itself; the notifier
//! moves one it gave up on explicitly, with the last error as the `error`
//! message attribute (visible in the console and to any tool that reads
//! the queue), then deletes it from the main queue.
//!
//! Redriving receives from the dead-letter queue, sends the bodies to the
//! main queue and only then deletes them from the dead-letter queue: a
//! crash in between leaves a copy in both, which the notifier's delivery
//! records absorb. (SQS's own `StartMessageMoveTask` does the same job
//! from the console; this one works wherever the SDK does, moto included.)

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;

use super::{backend, SqsQueue, ORIGIN_ATTRIBUTE};
use crate::queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};

/// The message attribute that carries why a message was dead-lettered.
pub const ERROR_ATTRIBUTE: &str = "error";
/// SQS's limit on a message attribute is generous; an error is cut here.
const MAX_ERROR_CHARS: usize = 1000;
/// How long a redrive keeps what it received from the dead-letter queue
/// hidden while it moves it.
const MOVING: Duration = Duration::from_secs(60);

impl SqsQueue {
    /// The queue at `url` takes this queue's dead letters.
    pub fn with_dead_letter_queue(mut self, url: impl Into<String>) -> Self {
        self.dead_letter_url = Some(url.into());
        self
    }

    fn dead_letter_queue(&self) -> Result<SqsQueue, QueueError> {
        let url = self.dead_letter_url.as_deref().ok_or_else(|| {
            QueueError::Backend("no dead-letter queue is configured for this queue".into())
        })?;
        Ok(SqsQueue::new(self.client.clone(), url, self.origin.clone()))
    }
}

pub(super) async fn bury(
    queue: &SqsQueue,
    message: &ReceivedMessage,
    reason: &str,
) -> Result<(), QueueError> {
    let dead = queue.dead_letter_queue()?;
    let reason: String = reason.chars().take(MAX_ERROR_CHARS).collect();
    let string = |value: String| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| QueueError::Backend(e.to_string()))
    };
    queue
        .client
        .send_message()
        .queue_url(&dead.url)
        .message_body(&message.body)
        .message_attributes(ERROR_ATTRIBUTE, string(reason)?)
        .message_attributes(ORIGIN_ATTRIBUTE, string(queue.origin.clone())?)
        .send()
        .await
        .map_err(backend)?;
    queue.delete(&message.receipt).await
}

pub(super) async fn redrive(queue: &SqsQueue, max: usize) -> Result<usize, QueueError> {
    let dead = queue.dead_letter_queue()?;
    let mut moved = 0;
    while moved < max {
        let batch = dead
            .receive_once((max - moved).min(10), MOVING, Duration::ZERO)
            .await?;
        if batch.is_empty() {
            break;
        }
        let bodies = batch
            .iter()
            .map(|m| OutgoingMessage {
                body: m.body.clone(),
                delay: Duration::ZERO,
            })
            .collect();
        queue.send(bodies).await?;
        for message in &batch {
            dead.delete(&message.receipt).await?;
        }
        moved += batch.len();
    }
    Ok(moved)
}
