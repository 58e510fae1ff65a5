//! The Azure Storage [`Queue`], on the official `azure_storage_queue`
//! crate, and how it meets the port's SQS-shaped semantics:
//!
//! - **Text**: bodies travel base64-encoded ([`text`]), as the Functions
//!   queue trigger reads them. The 64 KiB limit is on that text, so a body
//!   may have 48 KiB ([`QueueLimits::AZURE_STORAGE`]); larger ones are
//!   refused before anything is sent.
//! - **No expiry**: every message is sent with a time-to-live of -1
//!   (never), not the service's default of seven days, so a notification
//!   waiting out a long delay cannot silently vanish.
//! - **Receipts** are the message id and pop receipt together ([`receipt`]);
//!   a pop receipt changes with every receive and visibility update, and
//!   one the service no longer knows (404, or 400 `PopReceiptMismatch`) is
//!   a stale receipt, not an error.
//! - **Sending** has no batch call in this service: messages go out as
//!   concurrent single sends.
//! - **Waiting**: the service has no long polling; a receive with a wait
//!   polls, at most every [`POLL_EVERY`], each poll a billed transaction.
//!   The Functions host's trigger does its own polling in production.
//! - **Dead letters** go to `<queue>-poison`, as the Functions host sends
//!   messages after `maxDequeueCount`: by [`Queue::dead_letter`], and by
//!   `receive` when a message comes back more than `max_receive_count`
//!   times (`dead_letters.rs`).
//! - **Retries**: the SDK retries a failed call at most three times within
//!   ten seconds; the notifier and the host retry beyond that.
//! - **Signing**: an account SAS per request when the account has a key,
//!   else the Entra token credential given ([`crate::azure_storage`]).

mod dead_letters;
pub mod receipt;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::headers::HeaderName;
use azure_core::http::{
    ClientOptions, ExponentialRetryOptions, RetryOptions, StatusCode, Transport,
};
use azure_storage_queue::models::{
    QueueClientPeekMessagesOptions, QueueClientReceiveMessagesOptions,
    QueueClientSendMessageOptions, QueueMessage,
};
use azure_storage_queue::{QueueClient, QueueClientOptions};
use futures::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;
use tokio::time::Instant;

use super::{DeadLetter, OutgoingMessage, Queue, QueueError, QueueLimits, ReceivedMessage};
use crate::azure_storage::{SasPolicy, StorageAccount};

/// How often a waiting receive asks again.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// The most messages one receive call returns (the service's limit).
const MAX_PER_RECEIVE: usize = 32;

/// How many single sends run at once.
const SENDS_IN_FLIGHT: usize = 16;

/// How long a message being moved is hidden meanwhile.
const MOVING: Duration = Duration::from_secs(60);

/// Time-to-live -1: the message never expires.
const NEVER_EXPIRES: i32 = -1;

impl QueueLimits {
    /// Azure Storage queues: 64 KiB of text, base64 (a 48 KiB body);
    /// delays and visibility up to seven days, in whole seconds; no long
    /// polling.
    pub const AZURE_STORAGE: QueueLimits = QueueLimits {
        max_body_bytes: text::largest_body(64 * 1024),
        max_delay: Duration::from_secs(7 * 24 * 3600),
        max_visibility: Duration::from_secs(7 * 24 * 3600),
        delay_resolution: Duration::from_secs(1),
        long_polling: false,
    };
}

/// A [`Queue`] on one Azure Storage queue and its `-poison` queue.
pub struct AzureQueue {
    queue: QueueClient,
    poison: QueueClient,
    name: String,
    max_receive_count: u32,
}

impl AzureQueue {
    /// The queue `name` of `account` (and `name-poison`), reached through
    /// `http`; signed with the account key, else with `credential`. A
    /// message received more than `max_receive_count` times is poisoned,
    /// as the Functions host's `maxDequeueCount` does.
    pub fn new(
        account: &StorageAccount,
        name: &str,
        http: reqwest::Client,
        credential: Option<Arc<dyn TokenCredential>>,
        max_receive_count: u32,
    ) -> Result<AzureQueue, QueueError> {
        let client = |queue: &str| {
            let mut options = ClientOptions {
                transport: Some(Transport::new(Arc::new(http.clone()))),
                retry: retries(),
                ..ClientOptions::default()
            };
            let credential = match &account.key {
                Some(key) => {
                    options
                        .per_try_policies
                        .push(SasPolicy::new(&account.name, key));
                    None
                }
                None => credential.clone(),
            };
            let options = QueueClientOptions {
                client_options: options,
                ..QueueClientOptions::default()
            };
            QueueClient::new(account.queue_url(queue), credential, Some(options)).map_err(backend)
        };
        Ok(AzureQueue {
            queue: client(name)?,
            poison: client(&poison_name(name))?,
            name: name.to_owned(),
            max_receive_count,
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates the queue and its poison queue where they do not exist.
    pub async fn create_if_missing(&self) -> Result<(), QueueError> {
        for client in [&self.queue, &self.poison] {
            match client.create(None).await {
                Ok(_) => {}
                Err(error) if error.http_status() == Some(StatusCode::Conflict) => {}
                Err(error) => return Err(backend(error)),
            }
        }
        Ok(())
    }

    async fn send_text(
        &self,
        client: &QueueClient,
        text: String,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let options = QueueClientSendMessageOptions {
            message_time_to_live: Some(NEVER_EXPIRES),
            visibility_timeout: Some(seconds(delay, Self::LIMITS.max_delay)),
            ..Default::default()
        };
        let message = QueueMessage {
            message_text: Some(text),
        };
        client
            .send_message(message.try_into().map_err(backend)?, Some(options))
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// One receive call on `client`: the messages with their texts.
    async fn receive_once(
        client: &QueueClient,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<azure_storage_queue::models::ReceivedMessage>, QueueError> {
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(max.clamp(1, MAX_PER_RECEIVE) as i32),
            visibility_timeout: Some(seconds(visibility, Self::LIMITS.max_visibility).max(1)),
            ..Default::default()
        };
        let response = client
            .receive_messages(Some(options))
            .await
            .map_err(backend)?;
        let list = response.into_model().map_err(backend)?;
        Ok(list.items.unwrap_or_default())
    }

    /// The oldest `limit` messages of the poison queue, without taking
    /// them: at most 32, the most the service shows without receiving.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let options = QueueClientPeekMessagesOptions {
            number_of_messages: Some(limit.clamp(1, MAX_PER_RECEIVE) as i32),
            ..Default::default()
        };
        let response = self
            .poison
            .peek_messages(Some(options))
            .await
            .map_err(backend)?;
        let items = response.into_model().map_err(backend)?.items;
        Ok(items
            .unwrap_or_default()
            .into_iter()
            .take(limit)
            .filter_map(|item| {
                let poisoned_at = item
                    .insertion_time
                    .and_then(|t| Timestamp::from_second(t.unix_timestamp()).ok())
                    .unwrap_or_else(Timestamp::now);
                Some(dead_letters::read(
                    item.message_id?,
                    item.message_text.as_deref().unwrap_or_default(),
                    poisoned_at,
                ))
            })
            .collect())
    }

    /// Hides a received message for `timeout`; its new pop receipt, or
    /// `None` when the receipt is stale.
    async fn hide(
        client: &QueueClient,
        receipt: &str,
        timeout: Duration,
    ) -> Result<Option<String>, QueueError> {
        let (id, pop) = split(receipt)?;
        let secs = seconds(timeout, Self::LIMITS.max_visibility);
        match client.update_message(id, pop, secs, None).await {
            Ok(response) => Ok(response
                .headers()
                .get_optional_string(&HeaderName::from_static("x-ms-popreceipt"))),
            Err(error) if is_stale(&error) => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete_on(client: &QueueClient, receipt: &str) -> Result<(), QueueError> {
        let (id, pop) = split(receipt)?;
        match client.delete_message(id, pop, None).await {
            Ok(_) => Ok(()),
            Err(error) if is_stale(&error) => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }

    /// Moves `message` to the poison queue unless its receipt is stale.
    async fn poison_message(
        &self,
        message: &ReceivedMessage,
        reason: Option<&str>,
    ) -> Result<(), QueueError> {
        // Hiding it first proves the receipt current, and keeps it from a
        // second receiver while it moves; a crash midway shows it again.
        let Some(pop) = Self::hide(&self.queue, &message.receipt, MOVING).await? else {
            return Ok(());
        };
        let text = dead_letters::wrap(message, reason, Timestamp::now());
        self.send_text(&self.poison, text, Duration::ZERO).await?;
        Self::delete_on(&self.queue, &receipt::join(&message.message_id, &pop)).await
    }

    const LIMITS: QueueLimits = QueueLimits::AZURE_STORAGE;
}

/// The SDK's retries of a failed call: a few, within seconds. Its default
/// (8 retries over up to a minute) holds a notifier invocation, or a
/// start, far longer than the host's own retry of the message would take.
fn retries() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(200),
        max_retries: 3,
        max_total_elapsed: azure_core::time::Duration::seconds(10),
        max_delay: azure_core::time::Duration::seconds(2),
    })
}

/// The poison queue of `name`, as the Functions host names it.
pub fn poison_name(name: &str) -> String {
    format!("{name}-poison")
}

#[async_trait]
impl Queue for AzureQueue {
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        let most = Self::LIMITS.max_body_bytes;
        if let Some(large) = messages.iter().find(|m| m.body.len() > most) {
            return Err(QueueError::TooLarge(large.body.len(), most));
        }
        stream::iter(messages)
            .map(|message| self.send_text(&self.queue, text::encode(&message.body), message.delay))
            .buffer_unordered(SENDS_IN_FLIGHT)
            .try_collect::<()>()
            .await
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let until = Instant::now() + wait;
        loop {
            let mut got = Vec::new();
            for item in Self::receive_once(&self.queue, max, visibility).await? {
                let Some(message) = received(item) else {
                    continue;
                };
                if message.receive_count > self.max_receive_count {
                    if let Err(error) = self.poison_message(&message, None).await {
                        tracing::warn!(%error, message_id = %message.message_id, "could not move a message received too often to the poison queue");
                    }
                    continue;
                }
                got.push(message);
            }
            let left = until.saturating_duration_since(Instant::now());
            if !got.is_empty() || left.is_zero() {
                return Ok(got);
            }
            tokio::time::sleep(left.min(POLL_EVERY)).await;
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        Self::delete_on(&self.queue, receipt).await
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        Self::hide(&self.queue, receipt, timeout).await.map(|_| ())
    }

    fn limits(&self) -> QueueLimits {
        Self::LIMITS
    }

    async fn dead_letter(&self, message: &ReceivedMessage, reason: &str) -> Result<(), QueueError> {
        self.poison_message(message, Some(reason)).await
    }

    async fn redrive_dead_letters(&self, max: usize) -> Result<usize, QueueError> {
        let mut moved = 0;
        while moved < max {
            let batch = Self::receive_once(&self.poison, max - moved, MOVING).await?;
            if batch.is_empty() {
                break;
            }
            for item in batch {
                let (Some(id), Some(pop), Some(text)) =
                    (item.message_id, item.pop_receipt, item.message_text)
                else {
                    continue;
                };
                let body = dead_letters::unwrap(&text);
                self.send_text(&self.queue, text::encode(&body), Duration::ZERO)
                    .await?;
                Self::delete_on(&self.poison, &receipt::join(&id, &pop)).await?;
                moved += 1;
            }
        }
        Ok(moved)
    }
}

/// A service message in the port's terms; `None` when it lacks an id or
/// pop receipt (never, from the service).
fn received(item: azure_storage_queue::models::ReceivedMessage) -> Option<ReceivedMessage> {
    let message_id = item.message_id?;
    let receipt = receipt::join(&message_id, &item.pop_receipt?);
    let sent_at = item
        .insertion_time
        .and_then(|t| Timestamp::from_second(t.unix_timestamp()).ok())
        .unwrap_or_else(Timestamp::now);
    Some(ReceivedMessage {
        message_id,
        receipt,
        body: text::decode(item.message_text.as_deref().unwrap_or_default()),
        receive_count: u32::try_from(item.dequeue_count.unwrap_or(1)).unwrap_or(u32::MAX),
        sent_at,
    })
}

/// `duration` in whole seconds, rounded up, at most `most`.
fn seconds(duration: Duration, most: Duration) -> i32 {
    let capped = duration.min(most);
    let whole = capped.as_secs() + u64::from(capped.subsec_nanos() > 0);
    i32::try_from(whole).unwrap_or(i32::MAX)
}

fn split(receipt: &str) -> Result<(&str, &str), QueueError> {
    receipt::split(receipt)
        .ok_or_else(|| QueueError::Backend(format!("`{receipt}` is not an Azure queue receipt")))
}

/// Whether the service says the receipt no longer names a message in
/// flight: the message is gone (404) or was received again (400
/// `PopReceiptMismatch`).
fn is_stale(error: &azure_core::Error) -> bool {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            *status == StatusCode::NotFound
                || (*status == StatusCode::BadRequest
                    && error_code.as_deref() == Some("PopReceiptMismatch"))
        }
        _ => false,
    }
}

fn backend(error: azure_core::Error) -> QueueError {
    QueueError::Backend(format!("Azure Storage queue: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_whole_seconds_rounded_up_and_capped() {
        let week = QueueLimits::AZURE_STORAGE.max_delay;
        assert_eq!(seconds(Duration::ZERO, week), 0);
        assert_eq!(seconds(Duration::from_millis(1), week), 1);
        assert_eq!(seconds(Duration::from_millis(1500), week), 2);
        assert_eq!(seconds(Duration::from_secs(30 * 24 * 3600), week), 604_800);
    }
}
