//! The local binary's operator commands: what an operator of the local
//! host asks its data directory, with or without the host running (SQLite
//! lets a second process in; every change is one transaction).
//!
//! - [`redrive`]: dead letters back onto the queue. Their delivery records
//!   were marked dead-lettered when the notifier gave up, so each one's
//!   delivery starts over with a fresh count of attempts, and one that was
//!   delivered after all is still not sent twice.
//! - [`dead_letters`]: what the dead-letter queue holds, and why.
//! - [`deliveries`]: a notification's delivery records: its own, or one per
//!   recipient for a broadcast or a user target.

use std::path::Path;

use crate::ids::NotificationId;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::{DeadLetter, Queue, QueueError};
use crate::store::prelude::*;
use crate::store::sqlite::SqliteStore;
use crate::store::{DeliveryRecord, StoreError};

/// Records per page when reading a fan-out's deliveries.
const PAGE: usize = 500;

/// Why an operator command on the local host's data failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The embedded queue cannot be opened.
    #[error("cannot open the queue: {0}")]
    Queue(#[from] QueueError),
    /// The store cannot be read.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
}

fn open_queue(data_dir: &Path) -> Result<EmbeddedQueue, QueueError> {
    // Dead-lettering at receive time is the notifier loop's business; these
    // commands never receive.
    EmbeddedQueue::open(&data_dir.join("queue.db"), 0)
}

/// Moves every dead letter back onto the queue; returns how many.
pub async fn redrive(data_dir: &Path) -> Result<usize, OperatorError> {
    Ok(open_queue(data_dir)?
        .redrive_dead_letters(usize::MAX)
        .await?)
}

/// The oldest `limit` dead letters.
pub async fn dead_letters(data_dir: &Path, limit: usize) -> Result<Vec<DeadLetter>, OperatorError> {
    Ok(open_queue(data_dir)?.dead_letters(limit).await?)
}

/// The delivery record of `id`, and those of its children (a fan-out's
/// recipients), in id order.
pub async fn deliveries(
    data_dir: &Path,
    id: &NotificationId,
) -> Result<Vec<DeliveryRecord>, OperatorError> {
    let store = SqliteStore::open(&data_dir.join("store.db"))?;
    let mut records: Vec<DeliveryRecord> = store.get_delivery(id).await?.into_iter().collect();
    let mut after = None;
    loop {
        let page = store.child_deliveries(id, after.as_ref(), PAGE).await?;
        records.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(records),
        }
    }
}
