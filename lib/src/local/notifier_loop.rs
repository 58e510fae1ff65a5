//! The local stand-in for the SQS event source: receive a batch from the
//! embedded queue, process its messages concurrently, settle each one
//! (delete, or hide it until its retry), repeat until shutdown.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;

use crate::delivery::{settle, Notifier};
use crate::queue::Queue;

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
    while !*stopped.borrow() {
        let received = tokio::select! {
            received = queue.receive(settings.concurrency, settings.visibility, POLL) => received,
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
        join_all(messages.iter().map(|message| {
            let notifier = notifier.clone();
            let queue = queue.clone();
            async move {
                let disposition = notifier.process(message).await;
                if let Err(error) = settle(queue.as_ref(), message, disposition).await {
                    tracing::error!(%error, message_id = %message.message_id, "could not settle a message; it will come back");
                }
            }
        }))
        .await;
    }
}
