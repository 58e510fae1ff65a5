//! Sending the bot's in-turn replies, under the same rate limits as every
//! other send, and never losing one.
//!
//! A reply is a send like any other: Teams counts it against the
//! conversation's and the tenant's limits, so it takes its slot from the
//! same limiter as the notifier ([`crate::delivery::Limiter`]). What is
//! different is the clock: the channel waits for the turn's answer (Teams
//! gives a bot 15 s), so a reply waits for its slot in place only up to
//! [`REPLY_WAIT`], well inside that. A reply whose process wakes too late
//! for its slot (a busy machine; later than half the jitter allowance, so
//! it could bunch with the next sends) takes the next slot instead, up to
//! three times while the turn has time. A reply that cannot have a slot by
//! then, or that the channel answers with a status the notifier would
//! retry (429, 412, 408, 502–504, or no answer), is handed to the notifier
//! as a queued delivery instead, still a reply to the same activity (its
//! `replyToId` is kept; the notifier posts it to the activity's reply
//! route): the same retry, `Retry-After` and dead-letter rules then apply,
//! and it has a delivery record. The replies after it go the same way, in
//! order, so they never overtake it. A reply the channel refuses for good
//! (403, 404, a bad request) is logged, as before, and ends the turn's
//! replies.
//!
//! Typing indicators are the exception: they are only worth sending now,
//! so one is sent only when a slot is free within the jitter allowance,
//! and otherwise skipped; it is never queued or retried.

use std::time::Duration;

use jiff::Timestamp;

use crate::activity::{kind, Activity};
use crate::connector::ResourceResponse;
use crate::delivery::later;
use crate::delivery::policy::{self, Verdict};
use crate::delivery::Agreement;
use crate::ids::NotificationId;
use crate::notification::{enqueue, Notification, Reason};
use crate::store::{DeliveryRecord, DeliveryStatus};
use crate::turn::Turn;

use super::AppState;

/// How long after the turn's request arrived its replies may wait for
/// rate-limit slots (Teams waits 15 s for the answer).
pub const REPLY_WAIT: Duration = Duration::from_secs(5);

/// What became of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Delivered,
    /// Skipped (a typing indicator with no free slot).
    Skipped,
    /// Not sent: hand it, and every later reply, to the notifier, not
    /// before this time (a `Retry-After`) if given.
    HandOver(Option<Timestamp>),
    /// Refused for good: the later replies make no sense without it.
    Refused,
}

impl Sent {
    /// What becomes of a reply that gets no slot in time: a typing
    /// indicator is skipped, anything else goes to the queue.
    fn missed(typing: bool) -> Sent {
        if typing {
            Sent::Skipped
        } else {
            Sent::HandOver(None)
        }
    }
}

/// One reply of a turn, addressed to the turn's activity.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The activity, as it goes to the channel.
    pub activity: Activity,
    /// Where its delivery is recorded, if anywhere: a reply the handler
    /// gave an `id` is recorded as that notification's delivery once the
    /// channel took it, so it can be changed later like any notification
    /// (`Notification::change_of`, `PATCH`/`DELETE
    /// /api/notifications/{id}`). The id never reaches the channel.
    pub record_as: Option<NotificationId>,
}

impl Reply {
    /// A reply from what the handler returned, addressed as a reply to
    /// `incoming`.
    pub fn new(mut activity: Activity, incoming: &Activity) -> Reply {
        let record_as = activity.id.take().and_then(|id| id.parse().ok());
        Reply {
            activity: activity.addressed_as_reply_to(incoming),
            record_as,
        }
    }
}

/// Sends `replies` in order (see the module's docs); the turn began at
/// `began` (its request arrived), and its replies wait for slots until
/// [`REPLY_WAIT`] after that, whatever the bot's own work took.
pub async fn send(app: &AppState, turn: &Turn, replies: &[Reply], began: Timestamp) {
    let tenant = turn.tenant();
    let deadline = later(began, REPLY_WAIT);
    for (n, reply) in replies.iter().enumerate() {
        match send_one(app, turn, tenant, reply, deadline).await {
            Sent::Delivered | Sent::Skipped => {}
            Sent::Refused => return,
            Sent::HandOver(not_before) => {
                hand_over(app, turn, &replies[n..], not_before).await;
                return;
            }
        }
    }
}

/// How many slots a reply takes in turn when this process woke too late
/// for the one before (a busy machine), before it goes to the queue.
const SLOT_TRIES: usize = 3;

/// Sends one reply, its slot no later than `deadline` (a typing
/// indicator's: now).
async fn send_one(
    app: &AppState,
    turn: &Turn,
    tenant: Option<&str>,
    reply: &Reply,
    deadline: Timestamp,
) -> Sent {
    let (record_as, reply) = (reply.record_as.as_ref(), &reply.activity);
    let typing = reply.kind.as_deref() == Some(kind::TYPING);
    app.limiter
        .ready(app.channel.as_ref(), &turn.service_url, turn.provenance)
        .await;
    let mut tries = 0;
    loop {
        tries += 1;
        match take_slot(app, turn, tenant, typing, deadline).await {
            Slot::Now => break,
            // A missed slot stays counted; a reply may take the next one
            // while the turn has time (a typing indicator is only worth
            // sending now).
            Slot::Missed if !typing && tries < SLOT_TRIES && Timestamp::now() < deadline => {}
            Slot::Missed => return Sent::missed(typing),
            Slot::None(sent) => return sent,
        }
    }
    // Addressed as a reply to the turn's activity (`replyToId`), so it
    // goes to the activity's reply route.
    let sent = app
        .channel
        .send_activity(
            &turn.service_url,
            turn.provenance,
            turn.key.conversation_id(),
            reply,
        )
        .await;
    let error = match sent {
        Ok(accepted) => {
            if let Some(id) = record_as {
                record(app, turn, id, accepted).await;
            }
            return Sent::Delivered;
        }
        Err(error) => error,
    };
    let error_text = crate::telemetry::untrusted(&error);
    match policy::classify(&error) {
        Verdict::Retry(_) if typing => Sent::Skipped,
        Verdict::Retry(retry_after) => {
            tracing::info!(conversation = %turn.key, error = %error_text, "reply not accepted now; it goes to the queue");
            Sent::HandOver(retry_after.map(|wait| later(Timestamp::now(), wait)))
        }
        _ => {
            tracing::warn!(conversation = %turn.key, error = %error_text, "reply not delivered");
            Sent::Refused
        }
    }
}

/// Records a reply the channel took as the delivery of `id`, sent.
async fn record(app: &AppState, turn: &Turn, id: &NotificationId, accepted: ResourceResponse) {
    let now = Timestamp::now();
    let record = DeliveryRecord {
        notification_id: id.clone(),
        conversation: Some(turn.key.clone()),
        status: DeliveryStatus::Sent,
        attempts: 1,
        status_codes: vec![accepted.status],
        last_error: None,
        activity_id: accepted.id,
        created_at: now,
        updated_at: now,
        lease_until: None,
        send_at: None,
        dead_lettered: false,
    };
    if let Err(error) = app.store.put_delivery(&record).await {
        tracing::warn!(notification = %id, %error, "a reply was sent but its delivery could not be recorded; it cannot be changed later");
    }
}

/// Queues `replies` for the notifier, in order: each a millisecond after
/// the one before, so none overtakes another; typing indicators dropped.
/// A reply to be recorded is queued under its id, so its delivery record
/// is the one a later change looks for.
async fn hand_over(app: &AppState, turn: &Turn, replies: &[Reply], not_before: Option<Timestamp>) {
    let start = not_before.unwrap_or_else(Timestamp::now);
    let notifications: Vec<Notification> = replies
        .iter()
        .filter(|reply| reply.activity.kind.as_deref() != Some(kind::TYPING))
        .enumerate()
        .map(|(n, reply)| {
            let mut notification = Notification::to_conversation(
                turn.key.clone(),
                reply.activity.clone(),
                Reason::Reply,
            );
            if let Some(id) = &reply.record_as {
                notification.id = id.clone();
            }
            let step = Duration::from_millis(u64::try_from(n).unwrap_or(u64::MAX));
            notification.not_before = Some(later(start, step));
            notification
        })
        .collect();
    if let Err(error) = enqueue(app.queue.as_ref(), &notifications).await {
        tracing::error!(conversation = %turn.key, %error, replies = notifications.len(), "replies could not be queued; lost");
    }
}

/// Whether a reply may go now.
enum Slot {
    /// Its slot has come.
    Now,
    /// Its slot came and went before this process woke for it.
    Missed,
    /// No slot: what becomes of the reply.
    None(Sent),
}

/// Takes a rate-limit slot for one reply, by `deadline` (a typing
/// indicator's: within the jitter allowance of now), and waits for it.
async fn take_slot(
    app: &AppState,
    turn: &Turn,
    tenant: Option<&str>,
    typing: bool,
    deadline: Timestamp,
) -> Slot {
    let by = if typing {
        later(app.limiter.soonest(), app.limiter.limits().late())
    } else {
        deadline
    };
    // Asking may itself wait (for this process's turn at a busy limit, or
    // a slow store): that counts against the deadline too. A reservation
    // cut short leaves its slots counted, which errs on the safe side.
    let asking = Duration::try_from(by.duration_since(Timestamp::now())).unwrap_or_default();
    let agreed = tokio::time::timeout(asking, app.limiter.agree_for(&turn.key, tenant, Some(by)))
        .await
        .unwrap_or(Ok(Agreement::NotBy(by)));
    let slot = match agreed {
        Ok(Agreement::Agreed(at)) => at,
        Ok(Agreement::NotBy(_) | Agreement::Disagreed(_)) if typing => {
            return Slot::None(Sent::Skipped)
        }
        Ok(Agreement::NotBy(_) | Agreement::Disagreed(_)) => {
            tracing::info!(conversation = %turn.key, "no rate-limit slot within the turn; the reply goes to the queue");
            return Slot::None(Sent::HandOver(None));
        }
        Err(error) => {
            // The store is down: sending unlimited could provoke the
            // channel, and the queue may well work.
            tracing::warn!(conversation = %turn.key, %error, "no rate-limit slot; the reply goes to the queue");
            return Slot::None(Sent::missed(typing));
        }
    };
    if let Ok(wait) = Duration::try_from(slot.duration_since(Timestamp::now())) {
        tokio::time::sleep(wait).await;
    }
    // Sent later than this, it could bunch with the slots after it.
    let late = Duration::try_from(Timestamp::now().duration_since(slot)).unwrap_or_default();
    if late > app.limiter.limits().late() {
        tracing::debug!(conversation = %turn.key, ?late, "reply slot missed");
        return Slot::Missed;
    }
    Slot::Now
}
