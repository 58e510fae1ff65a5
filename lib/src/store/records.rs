//! The records the store keeps, shared by every adapter.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::activity::{ConversationReference, TeamChannel};
use crate::calendar::Recurrence;
use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::service_url::Provenance;

/// A conversation reference as stored: the reference exactly as the channel
/// sent it, plus what nudge knows about the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredReference {
    /// The conversation it is for (`{channelId}#{conversationId}`).
    pub key: ConversationKey,
    /// The reference exactly as the channel last sent it.
    pub reference: ConversationReference,
    /// False once the channel said the bot may not write here (blocked,
    /// uninstalled, conversation gone); true again when the user writes.
    pub active: bool,
    /// Why it is inactive (the channel's error code and message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_reason: Option<String>,
    /// When an activity last came from this conversation.
    pub last_seen: Timestamp,
    /// Whether a Bot Connector token vouched for the reference's service
    /// URL; an unverified URL is called only if its host is allow-listed.
    /// Records written before this field existed read as unverified.
    #[serde(default)]
    pub provenance: Provenance,
    /// The team and channel, for a conversation in a Teams team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_channel: Option<TeamChannel>,
}

impl StoredReference {
    /// Marks it inactive for `reason` (the channel's error code, or the
    /// event that removed the bot): deliveries to it stop until the
    /// conversation is heard from again.
    pub fn deactivate(&mut self, reason: &str) {
        self.active = false;
        self.inactive_reason = Some(reason.to_owned());
    }

    /// An active reference to `key` at `service_url` with nothing else
    /// known: for what makes conversations without a channel's turn (the
    /// benchmark, tests).
    pub fn minimal(key: &ConversationKey, service_url: &str, provenance: Provenance) -> Self {
        StoredReference {
            key: key.clone(),
            reference: ConversationReference {
                conversation: Some(crate::activity::ConversationAccount {
                    id: key.conversation_id().into(),
                    ..Default::default()
                }),
                channel_id: Some(key.channel_id().into()),
                service_url: Some(service_url.into()),
                ..Default::default()
            },
            active: true,
            inactive_reason: None,
            last_seen: Timestamp::now(),
            provenance,
            team_channel: None,
        }
    }

    /// The channel's id for the user the bot talks to here.
    pub fn user_id(&self) -> Option<&str> {
        self.reference.user.as_ref().map(|u| u.id.as_str())
    }

    /// The conversation's tenant: `conversation.tenantId` of the stored
    /// reference (where the bot keeps Teams' `channelData.tenant.id` too).
    pub fn tenant_id(&self) -> Option<&str> {
        self.reference
            .conversation
            .as_ref()
            .and_then(|c| c.tenant_id.as_deref())
            .filter(|t| !t.is_empty())
    }
}

/// One page of a listing; `next` is the cursor for the following page (a
/// conversation key, unless the listing is ordered by something else).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C = ConversationKey> {
    /// The page's items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// Cuts the rows of a query that asked for one more than `limit` (to
    /// learn whether another page follows) to a page; `next` is set only
    /// when rows beyond the page exist.
    pub fn from_probe(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> C) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }
}

/// Where a [`Job`] stands.
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
    /// The job's id, which the webhook that completes it names.
    pub id: JobId,
    /// The conversation that started it, and is told when it completes.
    pub owner: ConversationKey,
    /// Where it stands.
    pub status: JobStatus,
    /// When it was started.
    pub created_at: Timestamp,
    /// When completion was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// The owner conversation's tenant (`None`: a channel without tenants,
    /// such as the Emulator's): who may see and complete it from chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The job log it is listed in ([`crate::bot::JobScope::log`]); empty
    /// for jobs stored before job logs were scoped, which are in none.
    #[serde(default)]
    pub log: String,
    /// Who started it (`{channelId}#{userId}`), when a user did: caps
    /// count per user too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Job {
    /// Moves the job to `to` at `at` if its status is one of `from`;
    /// whether it moved (if not, the adapter answers
    /// `TransitionError::WrongState` with the job as it is). Every
    /// adapter's `transition_job` applies this rule inside its conditional
    /// write.
    pub fn transition(&mut self, from: &[JobStatus], to: JobStatus, at: Timestamp) -> bool {
        if !from.contains(&self.status) {
            return false;
        }
        self.status = to;
        if to == JobStatus::Complete {
            self.completed_at = Some(at);
        }
        true
    }
}

/// Whose records a cap counts: one conversation's, or one user's (by
/// `{channelId}#{userId}`, across conversations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// One conversation's records.
    Conversation(&'a ConversationKey),
    /// One user's, by `{channelId}#{userId}`.
    User(&'a str),
}

/// Where a [`Reminder`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReminderStatus {
    /// Will fire at `next_due`.
    Pending,
    /// A one-shot reminder that fired; kept for the log.
    Done,
    /// Cancelled before it (next) fired.
    Cancelled,
    /// Fell due while its conversation was closed to the bot (blocked,
    /// uninstalled): not fired, and pending again, due as it was, once the
    /// conversation writes again.
    Parked,
}

impl fmt::Display for ReminderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReminderStatus::Pending => "pending",
            ReminderStatus::Done => "done",
            ReminderStatus::Cancelled => "cancelled",
            ReminderStatus::Parked => "parked",
        })
    }
}

/// A reminder, owned by the conversation it was set in (or for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    /// The reminder's id (`cancel <id>`).
    pub id: ReminderId,
    /// Where it is delivered.
    pub owner: ConversationKey,
    /// What it says when it fires.
    pub text: String,
    /// When it fires: once, or on a schedule.
    pub recurrence: Recurrence,
    /// IANA time zone its times of day are in.
    pub time_zone: String,
    /// When it fires next (meaningful while `Pending`).
    pub next_due: Timestamp,
    /// Where it stands.
    pub status: ReminderStatus,
    /// When it was set.
    pub created_at: Timestamp,
    /// How many times it has fired.
    #[serde(default)]
    pub fired: u32,
    /// When it last fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fired_at: Option<Timestamp>,
    /// Who set it (`{channelId}#{userId}`), when a user did in chat: caps
    /// count per user too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Where a [`DeliveryRecord`] stands.
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
    /// Every status, in the order progress reports them.
    pub const ALL: [DeliveryStatus; 5] = [
        Self::Pending,
        Self::Sent,
        Self::Retrying,
        Self::Failed,
        Self::Blocked,
    ];

    /// Whether no further attempt will be made.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed | Self::Blocked)
    }

    /// The status's name, as stored and shown (the serde name too).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = String;

    /// The status [`DeliveryStatus::as_str`] names.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| format!("unknown delivery status {name:?}"))
    }
}

/// What happened to one notification for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The notification delivered (a broadcast's child id for each recipient).
    pub notification_id: NotificationId,
    /// The recipient conversation, once an attempt has learned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationKey>,
    /// Where the delivery stands.
    pub status: DeliveryStatus,
    /// Attempts so far (an attempt that only waited for a rate-limit slot is
    /// not counted).
    pub attempts: u32,
    /// Every HTTP status the channel answered, in order.
    #[serde(default)]
    pub status_codes: Vec<u16>,
    /// The last failure, as the notifier reported it ([`IN_DOUBT`] after a
    /// takeover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The id the channel gave the sent activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// When the first attempt claimed it.
    pub created_at: Timestamp,
    /// When it last changed (retention counts from here).
    pub updated_at: Timestamp,
    /// While `Pending`: the attempt holding the claim may run until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    /// The rate-limit slot this delivery holds, taken by an earlier attempt
    /// that found it in the future: the next attempt sends without taking
    /// another ([`crate::rate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<Timestamp>,
    /// Failed and sent to the dead-letter queue: if the message comes back
    /// (a redrive), the delivery starts over with a fresh count of attempts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dead_lettered: bool,
}

/// What a delivery record says when an attempt took over from one that
/// died holding the claim: the window of doubt (see [`crate::delivery`]),
/// so a possible double can be found afterwards.
pub const IN_DOUBT: &str = "an earlier attempt ended without recording its outcome \
     (the worker died mid-send); if the channel had accepted it, this delivery was sent twice";

/// The answer to [`crate::store::DeliveryStore::begin_delivery`].
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryClaim {
    /// This attempt owns the delivery; the record counts it.
    Proceed(DeliveryRecord),
    /// Nothing to do: the delivery already finished.
    Finished(DeliveryRecord),
    /// Another attempt holds the claim until `lease_until`.
    Busy(DeliveryRecord),
}

impl DeliveryClaim {
    /// Decides an attempt to claim a delivery from the record it finds (the
    /// rules of [`crate::store::DeliveryStore::begin_delivery`]); every adapter
    /// applies them inside its own atomic read-and-write, and writes the
    /// record back when the answer is `Proceed`. A record saved without a
    /// conversation learns it from a later attempt. A dead-lettered record
    /// is final until its message comes back from the dead-letter queue,
    /// which starts it over.
    pub fn decide(
        existing: Option<DeliveryRecord>,
        id: &NotificationId,
        conversation: Option<ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> DeliveryClaim {
        let Some(mut record) = existing else {
            return DeliveryClaim::Proceed(DeliveryRecord {
                notification_id: id.clone(),
                conversation,
                status: DeliveryStatus::Pending,
                attempts: 1,
                status_codes: Vec::new(),
                last_error: None,
                activity_id: None,
                created_at: now,
                updated_at: now,
                lease_until: Some(lease_until),
                send_at: None,
                dead_lettered: false,
            });
        };
        if record.dead_lettered {
            record.dead_lettered = false;
            record.attempts = 0;
        } else if record.status.is_final() {
            return DeliveryClaim::Finished(record);
        }
        let leased = record.status == DeliveryStatus::Pending
            && record.lease_until.is_some_and(|until| until > now);
        if leased {
            return DeliveryClaim::Busy(record);
        }
        if record.status == DeliveryStatus::Pending && record.lease_until.is_some() {
            // The attempt that held the lease neither finished nor gave it
            // back: it died, possibly after the channel accepted the send.
            record.last_error = Some(IN_DOUBT.to_owned());
        }
        record.status = DeliveryStatus::Pending;
        record.attempts = record.attempts.saturating_add(1);
        record.lease_until = Some(lease_until);
        record.updated_at = now;
        record.conversation = record.conversation.or(conversation);
        DeliveryClaim::Proceed(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).unwrap()
    }

    #[test]
    fn a_status_name_is_its_serde_name_and_parses_back() {
        for status in DeliveryStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(status));
        }
        assert!("sending".parse::<DeliveryStatus>().is_err());
    }

    fn id() -> NotificationId {
        "n-test".parse().unwrap()
    }

    fn pending(attempts: u32, lease: Option<Timestamp>) -> DeliveryRecord {
        let DeliveryClaim::Proceed(mut record) =
            DeliveryClaim::decide(None, &id(), None, at(0), at(30))
        else {
            panic!("a first attempt proceeds");
        };
        record.attempts = attempts;
        record.lease_until = lease;
        record
    }

    #[test]
    fn a_first_attempt_creates_a_pending_leased_record() {
        let key: ConversationKey = "test#c".parse().unwrap();
        let claimed = DeliveryClaim::decide(None, &id(), Some(key.clone()), at(0), at(30));
        let DeliveryClaim::Proceed(record) = claimed else {
            panic!("expected Proceed, got {claimed:?}");
        };
        assert_eq!(record.status, DeliveryStatus::Pending);
        assert_eq!(record.attempts, 1);
        assert_eq!(record.conversation, Some(key));
        assert_eq!(record.lease_until, Some(at(30)));
        assert_eq!((record.created_at, record.updated_at), (at(0), at(0)));
    }

    #[test]
    fn a_live_lease_is_busy_and_an_expired_or_missing_one_is_taken_over() {
        let live = pending(1, Some(at(30)));
        assert_eq!(
            DeliveryClaim::decide(Some(live.clone()), &id(), None, at(29), at(60)),
            DeliveryClaim::Busy(live.clone())
        );
        for (stale, in_doubt) in [(pending(1, Some(at(30))), true), (pending(1, None), false)] {
            let DeliveryClaim::Proceed(record) =
                DeliveryClaim::decide(Some(stale), &id(), None, at(30), at(60))
            else {
                panic!("an expired lease is taken over");
            };
            assert_eq!(
                record.last_error.as_deref() == Some(IN_DOUBT),
                in_doubt,
                "a lease that ran out (not one given back) leaves the outcome in doubt"
            );
            assert_eq!(record.attempts, 2);
            assert_eq!(record.lease_until, Some(at(60)));
            assert_eq!(record.updated_at, at(30));
            assert_eq!(record.created_at, at(0));
        }
    }

    #[test]
    fn a_redriven_dead_letter_starts_over() {
        let mut dead = pending(8, None);
        dead.status = DeliveryStatus::Failed;
        dead.dead_lettered = true;
        let claimed = DeliveryClaim::decide(Some(dead), &id(), None, at(1), at(60));
        let DeliveryClaim::Proceed(record) = claimed else {
            panic!("expected Proceed, got {claimed:?}");
        };
        assert_eq!((record.attempts, record.dead_lettered), (1, false));
        assert_eq!(record.status, DeliveryStatus::Pending);
    }

    #[test]
    fn retrying_proceeds_and_final_statuses_are_finished() {
        let mut retrying = pending(3, Some(at(100)));
        retrying.status = DeliveryStatus::Retrying;
        assert!(matches!(
            DeliveryClaim::decide(Some(retrying), &id(), None, at(1), at(60)),
            DeliveryClaim::Proceed(DeliveryRecord { attempts: 4, .. })
        ));
        for status in [
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
            DeliveryStatus::Blocked,
        ] {
            let mut done = pending(1, None);
            done.status = status;
            assert_eq!(
                DeliveryClaim::decide(Some(done.clone()), &id(), None, at(1), at(60)),
                DeliveryClaim::Finished(done)
            );
        }
    }
}
