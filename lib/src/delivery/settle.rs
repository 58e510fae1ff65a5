//! What becomes of a queue message once the notifier has decided
//! ([`Disposition`]): the one place that turns a disposition into queue
//! calls, for each way a host's trigger hands messages over ([`Trigger`]).
//!
//! | disposition | receive loop (local) | partial batch (Lambda SQS) | one per invocation (Azure queue trigger) |
//! | --- | --- | --- | --- |
//! | done | delete | nothing: the trigger deletes | nothing: the trigger deletes on success |
//! | retry after a wait | delay the message by the wait | delay it, and name it in the response | delay it (its receipt changes, so the trigger's delete misses it); if that fails, send a delayed copy |
//! | dead letter | move it to the dead letters | move it; if that fails, name it | move it (the `-poison` queue); if that fails, fail the invocation |
//!
//! The wait is always the notifier's (a backoff, a `Retry-After`, a
//! rate-limit slot), never a trigger's fixed visibility timeout: a trigger
//! retries on its own schedule only when settling itself failed.
//!
//! **Waiting must not use up the queue's receive budget.** Every queue
//! counts receives and moves a message received too often to its dead
//! letters (`NUDGE_MAX_RECEIVE_COUNT`, SQS's `maxReceiveCount`: 10), a
//! backstop for a message that crashes the notifier. A message that waits
//! for rate-limit slots comes back many times without failing (a burst of
//! 100 to one conversation lost one this way on a busy machine: ten
//! receives, then the dead letters, with no delivery record saying so).
//! So once a message has been received [`FRESH_AFTER_RECEIVES`] times, a
//! wait sends it back as a fresh copy (receive count 0) and settles the
//! original. The notifier's own attempt count, in the delivery record,
//! still decides when retrying a failing send ends; a crash between the
//! copy and the settle leaves two copies, which the delivery claim makes
//! one send.

use std::time::Duration;

use crate::queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};

use super::Disposition;

/// Receives after which a message that must wait goes back as a fresh
/// copy rather than with a longer visibility: half the default receive
/// budget, so the budget must be above it (`NUDGE_MAX_RECEIVE_COUNT` ≥ 5).
pub const FRESH_AFTER_RECEIVES: u32 = 4;

/// How a host's trigger hands over messages and takes them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The host receives the messages itself and settles each one.
    ReceiveLoop,
    /// A batch whose trigger deletes every message the handler's answer
    /// does not name (SQS with a partial batch response).
    PartialBatch,
    /// One message per invocation, deleted by the trigger when the handler
    /// answers success and offered again after the trigger's own
    /// visibility timeout when it fails.
    PerInvocation,
}

/// What the handler tells its trigger about the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Settled: success for the trigger.
    Settled,
    /// Offer it again: name it in a partial batch response, or fail the
    /// invocation. (A receive loop's message comes back by itself.)
    Again,
}

/// Applies `disposition` to `message` as `trigger` needs; errors are logged
/// here and folded into the answer.
pub async fn settle(
    queue: &dyn Queue,
    message: &ReceivedMessage,
    disposition: Disposition,
    trigger: Trigger,
) -> Answer {
    let outcome = match disposition {
        Disposition::Done => done(queue, message, trigger).await,
        Disposition::RetryAfter(wait) => retry_after(queue, message, wait, trigger).await,
        Disposition::DeadLetter(reason) => queue
            .dead_letter(message, &reason)
            .await
            .map(|()| Answer::Settled),
    };
    outcome.unwrap_or_else(|error| {
        tracing::warn!(%error, message_id = %message.message_id, ?trigger, "could not settle a message; it will come back");
        Answer::Again
    })
}

async fn done(
    queue: &dyn Queue,
    message: &ReceivedMessage,
    trigger: Trigger,
) -> Result<Answer, QueueError> {
    if trigger == Trigger::ReceiveLoop {
        queue.delete(&message.receipt).await?;
    }
    Ok(Answer::Settled)
}

async fn retry_after(
    queue: &dyn Queue,
    message: &ReceivedMessage,
    wait: Duration,
    trigger: Trigger,
) -> Result<Answer, QueueError> {
    if message.receive_count >= FRESH_AFTER_RECEIVES {
        queue.send(vec![delayed_copy(message, wait)]).await?;
        return done(queue, message, trigger).await;
    }
    let delayed = queue.change_visibility(&message.receipt, wait).await;
    match trigger {
        Trigger::ReceiveLoop => delayed.map(|()| Answer::Settled),
        Trigger::PartialBatch => {
            if let Err(error) = delayed {
                tracing::warn!(%error, "could not set the retry delay; the trigger retries after its visibility timeout");
            }
            Ok(Answer::Again)
        }
        Trigger::PerInvocation => {
            if let Err(error) = delayed {
                tracing::info!(%error, "could not delay the message; sending a delayed copy");
                queue.send(vec![delayed_copy(message, wait)]).await?;
            }
            Ok(Answer::Settled)
        }
    }
}

fn delayed_copy(message: &ReceivedMessage, wait: Duration) -> OutgoingMessage {
    OutgoingMessage {
        body: message.body.clone(),
        delay: wait,
    }
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::queue::embedded::EmbeddedQueue;
    use crate::queue::QueueLimits;

    /// The embedded queue, whose visibility changes fail when told to.
    struct FlakyQueue {
        inner: EmbeddedQueue,
        visibility_fails: bool,
    }

    #[async_trait]
    impl Queue for FlakyQueue {
        async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
            self.inner.send(messages).await
        }
        async fn receive(
            &self,
            max: usize,
            visibility: Duration,
            wait: Duration,
        ) -> Result<Vec<ReceivedMessage>, QueueError> {
            self.inner.receive(max, visibility, wait).await
        }
        async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
            self.inner.delete(receipt).await
        }
        async fn change_visibility(
            &self,
            receipt: &str,
            timeout: Duration,
        ) -> Result<(), QueueError> {
            if self.visibility_fails {
                return Err(QueueError::Backend("the receipt has expired".into()));
            }
            self.inner.change_visibility(receipt, timeout).await
        }
        fn limits(&self) -> QueueLimits {
            self.inner.limits()
        }
        async fn dead_letter(
            &self,
            message: &ReceivedMessage,
            reason: &str,
        ) -> Result<(), QueueError> {
            self.inner.dead_letter(message, reason).await
        }
        async fn redrive_dead_letters(&self, max: usize) -> Result<usize, QueueError> {
            self.inner.redrive_dead_letters(max).await
        }
    }

    async fn one_message(visibility_fails: bool) -> (FlakyQueue, ReceivedMessage) {
        let queue = FlakyQueue {
            inner: EmbeddedQueue::in_memory(10).unwrap(),
            visibility_fails,
        };
        let body = OutgoingMessage {
            body: "{}".into(),
            delay: Duration::ZERO,
        };
        queue.send(vec![body]).await.unwrap();
        let mut got = queue
            .receive(1, Duration::from_millis(100), Duration::ZERO)
            .await
            .unwrap();
        (queue, got.remove(0))
    }

    /// Messages visible within `within`.
    async fn visible(queue: &FlakyQueue, within: Duration) -> usize {
        tokio::time::sleep(within).await;
        queue
            .receive(10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap()
            .len()
    }

    const WAIT: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_receive_loop_deletes_and_delays_itself() {
        let (queue, message) = one_message(false).await;
        let answer = settle(&queue, &message, Disposition::Done, Trigger::ReceiveLoop).await;
        assert_eq!(answer, Answer::Settled);
        assert_eq!(
            visible(&queue, Duration::from_millis(200)).await,
            0,
            "deleted"
        );
        let (queue, message) = one_message(false).await;
        let retry = Disposition::RetryAfter(WAIT);
        assert_eq!(
            settle(&queue, &message, retry, Trigger::ReceiveLoop).await,
            Answer::Settled
        );
        assert_eq!(
            visible(&queue, Duration::from_millis(200)).await,
            0,
            "delayed by the wait, not the receive's 100 ms"
        );
    }

    #[tokio::test]
    async fn a_partial_batch_names_what_must_come_back() {
        let (queue, message) = one_message(false).await;
        let answer = settle(&queue, &message, Disposition::Done, Trigger::PartialBatch).await;
        assert_eq!(answer, Answer::Settled, "the trigger deletes it");
        let retry = Disposition::RetryAfter(WAIT);
        assert_eq!(
            settle(&queue, &message, retry.clone(), Trigger::PartialBatch).await,
            Answer::Again
        );
        assert_eq!(
            visible(&queue, Duration::from_millis(200)).await,
            0,
            "delayed"
        );
        let (queue, message) = one_message(true).await;
        assert_eq!(
            settle(&queue, &message, retry, Trigger::PartialBatch).await,
            Answer::Again,
            "named even when the delay could not be set"
        );
        let dead = Disposition::DeadLetter("gave up".into());
        assert_eq!(
            settle(&queue, &message, dead, Trigger::PartialBatch).await,
            Answer::Settled
        );
        assert_eq!(
            queue.redrive_dead_letters(10).await.unwrap(),
            1,
            "it was in the dead letters"
        );
    }

    #[tokio::test]
    async fn a_message_that_waits_often_goes_back_fresh() {
        for trigger in [
            Trigger::ReceiveLoop,
            Trigger::PartialBatch,
            Trigger::PerInvocation,
        ] {
            let (queue, mut message) = one_message(false).await;
            message.receive_count = FRESH_AFTER_RECEIVES;
            let soon = Disposition::RetryAfter(Duration::from_millis(300));
            assert_eq!(
                settle(&queue, &message, soon, trigger).await,
                Answer::Settled,
                "{trigger:?}: the original is done with"
            );
            if trigger != Trigger::ReceiveLoop {
                // What the trigger does on success.
                queue.delete(&message.receipt).await.unwrap();
            }
            assert_eq!(visible(&queue, Duration::from_millis(100)).await, 0);
            tokio::time::sleep(Duration::from_millis(400)).await;
            let back = queue
                .receive(10, Duration::from_secs(30), Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(back.len(), 1, "{trigger:?}: one copy, after the wait");
            assert_eq!(
                back[0].receive_count, 1,
                "{trigger:?}: a fresh receive count"
            );
            assert_eq!(back[0].body, message.body);
        }
    }

    #[tokio::test]
    async fn one_per_invocation_delays_or_sends_a_delayed_copy() {
        let retry = Disposition::RetryAfter(WAIT);
        let (queue, message) = one_message(false).await;
        assert_eq!(
            settle(&queue, &message, retry, Trigger::PerInvocation).await,
            Answer::Settled,
            "success, so the trigger does not retry on its own schedule"
        );
        assert_eq!(
            visible(&queue, Duration::from_millis(200)).await,
            0,
            "delayed"
        );
        let (queue, message) = one_message(true).await;
        let soon = Disposition::RetryAfter(Duration::from_millis(500));
        assert_eq!(
            settle(&queue, &message, soon, Trigger::PerInvocation).await,
            Answer::Settled
        );
        // The trigger deletes the original on success; the copy waits out
        // the delay, then comes back.
        queue.delete(&message.receipt).await.unwrap();
        assert_eq!(visible(&queue, Duration::from_millis(150)).await, 0);
        assert_eq!(visible(&queue, Duration::from_millis(600)).await, 1);
        let dead = Disposition::DeadLetter("gave up".into());
        let (queue, message) = one_message(false).await;
        assert_eq!(
            settle(&queue, &message, dead, Trigger::PerInvocation).await,
            Answer::Settled
        );
        assert_eq!(queue.redrive_dead_letters(10).await.unwrap(), 1);
    }
}
