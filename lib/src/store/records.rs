//! The records the store keeps, shared by every adapter.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::activity::ConversationReference;
use crate::ids::{ConversationKey, JobId, NotificationId};

/// A conversation reference as stored: the reference exactly as the channel
/// sent it, plus what nudge knows about the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredReference {
    pub key: ConversationKey,
    pub reference: ConversationReference,
    /// False once the channel said the bot may not write here (blocked,
    /// uninstalled, conversation gone); true again when the user writes.
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_reason: Option<String>,
    pub last_seen: Timestamp,
}

impl StoredReference {
    pub fn user_id(&self) -> Option<&str> {
        self.reference.user.as_ref().map(|u| u.id.as_str())
    }

    pub fn tenant_id(&self) -> Option<&str> {
        self.reference
            .conversation
            .as_ref()
            .and_then(|c| c.tenant_id.as_deref())
    }
}

/// One page of a listing; `next` is the cursor for the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<ConversationKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobStatus {
    /// Started, not finished.
    Running,
    /// Someone asked for completion; the notifier has not finished it yet.
    Completing,
    /// Finished, and the owner has been (or is being) told.
    Complete,
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobStatus::Running => "running",
            JobStatus::Completing => "completing",
            JobStatus::Complete => "complete",
        })
    }
}

/// A long-running job, owned by the conversation that started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: JobId,
    pub owner: ConversationKey,
    pub status: JobStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStatus {
    /// Claimed by an attempt that has not reported back.
    Pending,
    /// The channel accepted the message.
    Sent,
    /// The last attempt failed in a way worth retrying.
    Retrying,
    /// Given up: the channel refused for good, or the conversation is gone.
    Failed,
    /// The user blocked or removed the bot.
    Blocked,
}

impl DeliveryStatus {
    /// Whether no further attempt will be made.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed | Self::Blocked)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
        })
    }
}

/// What happened to one notification for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub notification_id: NotificationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationKey>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// Every HTTP status the channel answered, in order.
    #[serde(default)]
    pub status_codes: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The id the channel gave the sent activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// While `Pending`: the attempt holding the claim may run until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
}

/// The answer to [`crate::store::Store::begin_delivery`].
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryClaim {
    /// This attempt owns the delivery; the record counts it.
    Proceed(DeliveryRecord),
    /// Nothing to do: the delivery already finished.
    Finished(DeliveryRecord),
    /// Another attempt holds the claim until `lease_until`.
    Busy(DeliveryRecord),
}
