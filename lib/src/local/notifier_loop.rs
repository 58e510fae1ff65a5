//! The local stand-in for the SQS event source: keep up to `concurrency`
//! messages in flight, receive more as soon as any finishes, settle each
//! one (delete, or hide it until its retry), until shutdown.
//!
//! The loop does not wait for a whole batch before receiving the next: one
//! slow send (a 50 ms channel, a timeout) would otherwise hold up every
//! free worker. A permit per message in flight bounds the work; a receive
//! asks for as many messages as there are free permits, so nothing is
//! received that no worker could start on (a received message is invisible
//! to everyone else until it is settled or its visibility runs out).
//! Shutdown stops receiving and lets the messages in flight finish.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::delivery::{settle, Notifier, Trigger};
use crate::queue::{Queue, ReceivedMessage};

pub struct LoopSettings {
    /// Messages worked on at once.
    pub concurrency: usize,
    /// How long a received message stays hidden from the next receive.
    pub visibility: Duration,
}

/// How long one receive waits for a message before checking for shutdown.
const POLL: Duration = Duration::from_millis(500);

pub async fn run(
    notifier: Arc<Notifier>,
    queue: Arc<dyn Queue>,
    settings: LoopSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let concurrency = settings.concurrency.max(1);
    let workers = Arc::new(Semaphore::new(concurrency));
    let mut in_flight = JoinSet::new();
    while !*stopped.borrow() {
        let first = tokio::select! {
            permit = workers.clone().acquire_owned() => permit,
            _ = stopped.changed() => break,
        };
        let Ok(first) = first else { break };
        let mut permits = vec![first];
        while let Ok(more) = workers.clone().try_acquire_owned() {
            permits.push(more);
        }
        // Finished tasks are only reaped here, so the set stays small.
        while in_flight.try_join_next().is_some() {}
        let received = tokio::select! {
            received = queue.receive(permits.len(), settings.visibility, POLL) => received,
            _ = stopped.changed() => break,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(error) => {
                tracing::error!(%error, "queue receive failed; retrying shortly");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        // Permits beyond the messages received drop here, freeing them.
        for (message, permit) in messages.into_iter().zip(permits) {
            in_flight.spawn(work(notifier.clone(), queue.clone(), message, permit));
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Processes and settles one message, holding its worker permit until done.
async fn work(
    notifier: Arc<Notifier>,
    queue: Arc<dyn Queue>,
    message: ReceivedMessage,
    _permit: OwnedSemaphorePermit,
) {
    let disposition = notifier.process(&message).await;
    // Unsettled, the message comes back when its visibility runs out.
    settle(queue.as_ref(), &message, disposition, Trigger::ReceiveLoop).await;
}
