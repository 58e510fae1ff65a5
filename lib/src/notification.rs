//! `Notification`: one proactive message waiting on the queue.
//!
//! It is self-describing JSON: who it goes to, what to say, why, and not
//! before when. The queue body is exactly this, so a message dropped on the
//! queue by another system is read the same way as one nudge wrote; so is
//! the Azure proactive template's shape (`notification/template.rs`), through
//! [`Notification::from_queue_body`].

mod template;

pub use template::{reference_key, DecodeError};

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ConversationReference};
use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::queue::{OutgoingMessage, Queue, QueueError};

/// What the notifier delivers: one queue message (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Deterministic where a retry must find the same one (a reminder's
    /// occurrence, a fan-out's child), random otherwise.
    pub id: NotificationId,
    /// Who receives it.
    pub target: Target,
    /// What to send. The notifier addresses it from the stored reference;
    /// any addressing fields set here are overwritten.
    pub activity: Activity,
    /// Why it is sent: what the delivery hooks look at.
    pub reason: Reason,
    /// Deliver no earlier than this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// What to do with the activity: send it (the default), or change one
    /// sent before (an edit or a recall's part for one conversation).
    #[serde(default, skip_serializing_if = "Operation::is_send")]
    pub operation: Operation,
}

/// What a notification does in its conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Operation {
    /// Send the activity.
    #[default]
    Send,
    /// Replace the activity the channel holds under `activity_id` with
    /// this one.
    #[serde(rename_all = "camelCase")]
    Update {
        /// The channel's id of the activity sent before.
        activity_id: String,
    },
    /// Delete the activity the channel holds under `activity_id`.
    #[serde(rename_all = "camelCase")]
    Delete {
        /// The channel's id of the activity sent before.
        activity_id: String,
    },
}

impl Operation {
    /// Whether it sends (the default, left out of the JSON).
    pub fn is_send(&self) -> bool {
        *self == Operation::Send
    }
}

/// A change to every message a notification sent ([`Target::Delivered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Edit {
    /// Each message is replaced by the notification's activity.
    Update,
    /// Each message is deleted (a recall).
    Delete,
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    /// One stored conversation.
    Conversation {
        /// The conversation's key.
        key: ConversationKey,
    },
    /// Every subscribed conversation (with `tag`, only those subscribed to
    /// it). The notifier expands it page by page; `after` is the last key of
    /// the previous page.
    #[serde(rename_all = "camelCase")]
    Subscribers {
        /// Only subscribers of this tag (`None`: every subscriber).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        /// Where the fan-out has got to: the page after this conversation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ConversationKey>,
    },
    /// Every active conversation whose reference names this user of this
    /// channel; expanded page by page like a broadcast.
    #[serde(rename_all = "camelCase")]
    User {
        /// The user's channel.
        channel_id: String,
        /// The user's id on that channel.
        user_id: String,
        /// Where the fan-out has got to: the page after this conversation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ConversationKey>,
    },
    /// A Teams user of a tenant, named by their Entra object id or Teams
    /// id (`29:…`): their 1:1 conversation with the bot, which the
    /// notifier creates first when nudge has none (`crate::reach`).
    #[serde(rename_all = "camelCase")]
    Member {
        /// The user's tenant.
        tenant_id: String,
        /// The user's Entra object id or Teams id.
        member_id: String,
    },
    /// Teams users of one tenant, each reached as a [`Target::Member`]:
    /// expanded like a broadcast, a page at a time, the users not yet
    /// expanded carried in the message.
    #[serde(rename_all = "camelCase")]
    Members {
        /// Their tenant.
        tenant_id: String,
        /// Their Entra object ids or Teams ids.
        member_ids: Vec<String>,
    },
    /// Every conversation an earlier notification was delivered to, each
    /// message changed by `edit` (`PATCH` and `DELETE
    /// /api/notifications/{id}`); expanded page by page like a broadcast,
    /// over that notification's delivery records.
    #[serde(rename_all = "camelCase")]
    Delivered {
        /// The notification whose messages change.
        of: NotificationId,
        /// How they change.
        edit: Edit,
        /// Where the fan-out has got to: the page after this record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<NotificationId>,
    },
    /// The conversation a reference carried by the message names (the
    /// Azure proactive template's queue messages). Nobody vouched for its
    /// service URL: it is called only if its host is allow-listed.
    Reference {
        /// The reference as the sender gave it.
        reference: Box<ConversationReference>,
    },
}

impl Target {
    /// A fan-out target continued after `next` (the last key of a page);
    /// other targets are returned unchanged.
    pub fn after(&self, next: ConversationKey) -> Target {
        let mut target = self.clone();
        if let Target::Subscribers { after, .. } | Target::User { after, .. } = &mut target {
            *after = Some(next);
        }
        target
    }
}

/// Why a notification exists, and what delivering it also does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Reason {
    /// A job finished: delivering it marks the job complete first.
    #[serde(rename_all = "camelCase")]
    JobComplete {
        /// The job that completed.
        job_id: JobId,
    },
    /// A conversation subscribed and is told so.
    Subscribed,
    /// A reminder fell due.
    #[serde(rename_all = "camelCase")]
    Reminder {
        /// The reminder that fell due.
        reminder_id: ReminderId,
    },
    /// An operator or external system asked for a broadcast.
    Broadcast,
    /// An external system asked, through the webhook API or a queue
    /// message.
    Webhook,
    /// An in-turn reply the channel could not take in the turn
    /// (`api::replies`): still a reply to the same activity.
    Reply,
    /// A library user's own reason ([`crate::bot::TurnHandler`]): a name
    /// and any data, kept with the notification. Delivering it does
    /// nothing more than the send.
    Custom {
        /// The kind, for the user's own delivery hooks.
        name: String,
        /// Anything the hooks need.
        #[serde(default)]
        data: serde_json::Value,
    },
}

impl Notification {
    /// An edit or a recall of every message `of` sent, with a fresh id
    /// ([`Target::Delivered`]): each becomes `activity` (`Edit::Update`) or
    /// is deleted (`Edit::Delete`, the activity unused).
    pub fn change_of(of: NotificationId, edit: Edit, activity: Activity) -> Self {
        Notification {
            id: NotificationId::generate(),
            target: Target::Delivered {
                of,
                edit,
                after: None,
            },
            activity,
            reason: Reason::Webhook,
            not_before: None,
            operation: Operation::Send,
        }
    }

    /// A notification to one conversation, sent as soon as possible, with a
    /// fresh id.
    pub fn to_conversation(key: ConversationKey, activity: Activity, reason: Reason) -> Self {
        Notification {
            id: NotificationId::generate(),
            target: Target::Conversation { key },
            activity,
            reason,
            not_before: None,
            operation: Operation::Send,
        }
    }
}

impl Notification {
    /// Delays delivery until `now + delay`.
    pub fn delayed(mut self, now: Timestamp, delay: Duration) -> Self {
        self.not_before = jiff::SignedDuration::try_from(delay)
            .ok()
            .and_then(|d| now.checked_add(d).ok());
        self
    }

    /// The id of the notification that completes `job`: the same whoever
    /// asks for completion, so that two requests produce one message.
    pub fn job_completion_id(job: &JobId) -> NotificationId {
        NotificationId::from_job(job)
    }

    /// How long the queue should hold this before delivery: until
    /// `not_before`, at most `max_delay`, the queue's longest (the notifier
    /// re-delays the rest).
    pub fn queue_delay(&self, now: Timestamp, max_delay: Duration) -> Duration {
        self.not_before
            .map(|at| at.duration_since(now))
            .and_then(|d| Duration::try_from(d).ok())
            .map_or(Duration::ZERO, |d| d.min(max_delay))
    }
}

/// Puts notifications on the queue, each as its JSON, delayed to its
/// `not_before`.
pub async fn enqueue(queue: &dyn Queue, notifications: &[Notification]) -> Result<(), QueueError> {
    if notifications.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let max_delay = queue.limits().max_delay;
    let messages = notifications
        .iter()
        .map(|n| {
            serde_json::to_string(n)
                .map(|body| OutgoingMessage {
                    body,
                    delay: n.queue_delay(now, max_delay),
                })
                .map_err(|e| QueueError::Backend(format!("cannot encode notification: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    queue.send(messages).await
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

    #[test]
    fn queue_delay_follows_not_before_up_to_the_queue_limit() {
        let key = ConversationKey::new("emulator", "c1").unwrap();
        let now = Timestamp::now();
        let n = Notification::to_conversation(key, Activity::message("x"), Reason::Subscribed);
        let most = Duration::from_secs(900);
        assert_eq!(n.queue_delay(now, most), Duration::ZERO);
        let soon = n.clone().delayed(now, Duration::from_secs(30));
        assert_eq!(soon.queue_delay(now, most), Duration::from_secs(30));
        let late = n.delayed(now, Duration::from_secs(3600));
        assert_eq!(late.queue_delay(now, most), most);
    }
}
