//! `Notification`: one proactive message waiting on the queue.
//!
//! It is self-describing JSON: who it goes to, what to say, why, and not
//! before when. The queue body is exactly this, so a message dropped on the
//! queue by another system is read the same way as one nudge wrote.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::activity::Activity;
use crate::ids::{ConversationKey, JobId, NotificationId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub target: Target,
    /// What to send. The notifier addresses it from the stored reference;
    /// any addressing fields set here are overwritten.
    pub activity: Activity,
    pub reason: Reason,
    /// Deliver no earlier than this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    /// One stored conversation.
    Conversation { key: ConversationKey },
    /// Every subscribed conversation (with `tag`, only those subscribed to
    /// it). The notifier expands it page by page; `after` is the last key of
    /// the previous page.
    #[serde(rename_all = "camelCase")]
    Subscribers {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ConversationKey>,
    },
}

/// Why a notification exists, and what delivering it also does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Reason {
    /// A job finished: delivering it marks the job complete first.
    #[serde(rename_all = "camelCase")]
    JobComplete { job_id: JobId },
    /// A conversation subscribed and is told so.
    Subscribed,
    /// An operator or external system asked for a broadcast.
    Broadcast,
}

impl Notification {
    pub fn to_conversation(key: ConversationKey, activity: Activity, reason: Reason) -> Self {
        Notification {
            id: NotificationId::generate(),
            target: Target::Conversation { key },
            activity,
            reason,
            not_before: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_tagged_camel_case_json() {
        let key = ConversationKey::new("emulator", "c1").unwrap();
        let mut n = Notification::to_conversation(
            key,
            Activity::message("hi"),
            Reason::JobComplete {
                job_id: "abcdefgh".parse().unwrap(),
            },
        );
        n.id = "n-1".parse().unwrap();
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "n-1",
                "target": {"kind": "conversation", "key": "emulator#c1"},
                "activity": {"type": "message", "text": "hi"},
                "reason": {"kind": "jobComplete", "jobId": "abcdefgh"}
            })
        );
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), n);
    }
}
