//! Taking a rate-limit slot before a send (the rule is in [`super::rate`]).
//!
//! The conversation's limit gives a slot first, then the bot's, no earlier
//! than the conversation's; each is an atomic reservation in the store.
//! A slot now sends now. A later slot is kept in the delivery record, the
//! attempt gives its claim back uncounted, and the message returns to the
//! queue until then: waiting for room is not a failure. When it comes back
//! it sends in the slot it holds, without asking again, unless it is more
//! than [`LATE`] late (a busy worker), when it takes a new one.
//!
//! **Meeting a slot on a coarse queue** ([`meet`]). A queue delays in steps
//! ([`crate::queue::Queue::delay_resolution`]: SQS in whole seconds, rounded
//! up). Asked to hide a message for 1.3 s, SQS hides it for 2 s, so the
//! message would come back up to a second after its slot: more than
//! [`LATE`], so it would throw its slot away and take a new one, and every
//! message of a burst would chase its slot round the queue, wasting slots
//! and time. So the notifier asks the queue only for whole steps, rounded
//! *down* (1.3 s becomes 1 s: the message comes back a little before its
//! slot), and a slot less than one step away is waited for here, in the
//! attempt, and then sent in. That wait is not a retry sleeping on a
//! channel: it is bounded by one step (at most a second on SQS, a
//! millisecond on the embedded queue), it happens at most once per
//! attempt, and it meets a time the queue cannot express. It sits here,
//! and not in the Lambda batch handler or the local loop, because only
//! the notifier knows which waits are slots (a backoff or a busy lease may
//! well come back late) and can send once the wait is over; the queue
//! port only says its step, and whoever settles the message passes the
//! whole-step wait through unchanged. [`LATE`] still catches a message
//! that comes back later than that (a busy or slow worker, a queue that
//! was slow to show it).
//!
//! **One reservation at a time per limit, per process** ([`Turns`]). A
//! reservation is a read-decide-write on the limit's state, and a writer
//! that finds the state changed since its read decides again (DynamoDB:
//! two requests per try). A process working on a burst for one
//! conversation (or a broadcast, for the bot's limit) would race its own
//! tasks for the same item, and every lost race costs requests and time;
//! so within a process the reservations of one limit take turns, and only
//! other processes (other Lambda instances) race.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::ids::ConversationKey;
use crate::store::{DeliveryRecord, StoreError};

use super::rate::{Limited, Window};
use super::Notifier;

/// How late a message may come back for its slot and still use it. Later
/// than this, sending could bunch it with the slots after it, so it takes
/// a new slot instead (the old one stays counted, which only errs on the
/// safe side). Well inside [`super::rate::SAFETY_MARGIN`], which must also
/// absorb the network's varying delay.
pub const LATE: Duration = Duration::from_millis(250);

/// How often the conversation and the bot are each asked for a slot, at
/// most, before the notifier takes what it got ([`agree`]).
const AGREEMENT_ROUNDS: u32 = 3;

/// How a slot `wait` ahead is met, on a queue that delays in steps of
/// `step` ([`crate::queue::Queue::delay_resolution`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meeting {
    /// The slot has come: send.
    Now,
    /// The slot is less than one step away: wait this long here, then send.
    Wait(Duration),
    /// Back on the queue for this long, a whole number of steps (the rest,
    /// less than a step, is waited for when the message comes back).
    Queue(Duration),
}

/// The rule of [`Meeting`]: a wait under one step is waited for in place,
/// a longer one goes to the queue rounded down to whole steps (a queue
/// that has no steps takes it as it is).
pub(super) fn meet(wait: Duration, step: Duration) -> Meeting {
    if wait.is_zero() {
        return Meeting::Now;
    }
    if step.is_zero() {
        return Meeting::Queue(wait);
    }
    if wait < step {
        return Meeting::Wait(wait);
    }
    let steps = wait.as_nanos() / step.as_nanos();
    let whole = step
        .checked_mul(u32::try_from(steps).unwrap_or(u32::MAX))
        .unwrap_or(wait);
    Meeting::Queue(whole)
}

impl Notifier {
    /// `None`: send now (after waiting here for a slot less than one of the
    /// queue's steps away). `Some(wait)`: the record holds a slot about
    /// that far ahead (a whole number of the queue's steps, rounded down);
    /// come back then.
    pub(super) async fn slot(
        &self,
        record: &mut DeliveryRecord,
        key: &ConversationKey,
        tenant: Option<&str>,
    ) -> Result<Option<Duration>, StoreError> {
        let now = Timestamp::now();
        let at = match record.send_at {
            Some(held) if !is_late(held, now) => held,
            _ => self.reserve(key, tenant, now).await?,
        };
        let wait = super::time_until(Some(at), Timestamp::now()).unwrap_or_default();
        match meet(wait, self.queue.delay_resolution()) {
            Meeting::Now => {
                record.send_at = None;
                Ok(None)
            }
            Meeting::Wait(wait) => {
                tracing::debug!(conversation = %key, ?wait, "waiting for a slot closer than the queue's step");
                tokio::time::sleep(wait).await;
                record.send_at = None;
                Ok(None)
            }
            Meeting::Queue(wait) => {
                record.send_at = Some(at);
                Ok(Some(wait))
            }
        }
    }

    /// A send time that both the conversation's limit and the bot's (its
    /// tenant's, then the optional cap over all tenants) have given a slot
    /// for ([`agree`]).
    async fn reserve(
        &self,
        key: &ConversationKey,
        tenant: Option<&str>,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let limits = &self.settings.rate_limits;
        let conversation = Limited::Conversation(key.clone());
        let tenant = Limited::Tenant(tenant.map(str::to_owned));
        let (bot_windows, global_windows) = (limits.bot_windows(), limits.global_windows());
        agree(
            |at| self.reserve_one(&conversation, &limits.conversation, at),
            |at| {
                let tenant = &tenant;
                let (bot_windows, global_windows) = (&bot_windows, &global_windows);
                async move {
                    let slot = self.reserve_one(tenant, bot_windows, at).await?;
                    // The cap over all tenants, no earlier than the
                    // tenant's slot; a tenant slot it pushes back stays
                    // counted, which errs on the safe side.
                    self.reserve_one(&Limited::Global, global_windows, slot)
                        .await
                }
            },
            now,
        )
        .await
    }

    /// One reservation, in this process's turn for `limited`.
    async fn reserve_one(
        &self,
        limited: &Limited,
        windows: &[Window],
        earliest: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        if windows.is_empty() {
            return Ok(earliest);
        }
        let _turn = self.turns.take(limited).await;
        self.store.reserve_send(limited, windows, earliest).await
    }

    /// Gives back a claim taken for an attempt that did not send: the
    /// attempt is not counted and the next one may claim at once.
    pub(super) async fn release(&self, record: &mut DeliveryRecord) -> Result<(), StoreError> {
        record.attempts = record.attempts.saturating_sub(1);
        record.lease_until = None;
        record.updated_at = Timestamp::now();
        self.store.put_delivery(record).await
    }
}

/// A slot from the conversation's limit, then one from the bot's no
/// earlier; when the bot's is later than [`LATE`] after it (the bot is at
/// its limit), the conversation is asked again from the bot's slot, and
/// when that one is later still, the bot again, and so on, each asked from
/// the other's latest slot, until two slots lie within [`LATE`] of each
/// other; then the later is the send time (the margin absorbs the
/// difference), or after [`AGREEMENT_ROUNDS`] the notifier takes the
/// latest it got. Only the limit whose slot came out too early is asked
/// again, so a slot of the limit that is holding things up is never given
/// up: a broadcast (bot-bound) spends one bot slot per conversation, a
/// burst (conversation-bound) one conversation slot per message. The
/// slots given up stay counted, which errs on the safe side.
async fn agree<C, B, CF, BF>(
    mut conversation: C,
    mut bot: B,
    now: Timestamp,
) -> Result<Timestamp, StoreError>
where
    C: FnMut(Timestamp) -> CF,
    B: FnMut(Timestamp) -> BF,
    CF: std::future::Future<Output = Result<Timestamp, StoreError>>,
    BF: std::future::Future<Output = Result<Timestamp, StoreError>>,
{
    let mut conversation_slot = conversation(now).await?;
    let mut bot_slot = bot(conversation_slot).await?;
    for _ in 1..AGREEMENT_ROUNDS {
        if !is_late(conversation_slot, bot_slot) {
            return Ok(bot_slot.max(conversation_slot));
        }
        conversation_slot = conversation(bot_slot).await?;
        if !is_late(bot_slot, conversation_slot) {
            return Ok(conversation_slot.max(bot_slot));
        }
        bot_slot = bot(conversation_slot).await?;
    }
    Ok(bot_slot.max(conversation_slot))
}

/// The turns of this process's reservations, one at a time per limited
/// thing (see the module's docs).
#[derive(Default)]
pub(super) struct Turns {
    /// Per limited thing with a reservation under way or waiting.
    queues: SyncMutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Turns {
    /// Waits for `limited`'s turn; the turn ends when the guard is dropped.
    async fn take(&self, limited: &Limited) -> OwnedMutexGuard<()> {
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            // Forget the limits nobody holds or waits for.
            queues.retain(|_, queue| Arc::strong_count(queue) > 1);
            queues.entry(limited.to_string()).or_default().clone()
        };
        queue.lock_owned().await
    }
}

fn is_late(slot: Timestamp, now: Timestamp) -> bool {
    super::time_until(Some(now), slot).is_some_and(|late| late > LATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::rate::{RateLimits, RateState};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_slot_that_has_come_sends_now() {
        assert_eq!(meet(Duration::ZERO, SECOND), Meeting::Now);
        assert_eq!(meet(Duration::ZERO, Duration::ZERO), Meeting::Now);
    }

    #[test]
    fn a_slot_within_one_step_is_waited_for_in_place() {
        assert_eq!(meet(ms(1), SECOND), Meeting::Wait(ms(1)));
        assert_eq!(meet(ms(300), SECOND), Meeting::Wait(ms(300)));
        assert_eq!(meet(ms(999), SECOND), Meeting::Wait(ms(999)));
        // On a fine queue only what it cannot express is waited for.
        assert_eq!(
            meet(Duration::from_micros(400), ms(1)),
            Meeting::Wait(Duration::from_micros(400))
        );
    }

    #[test]
    fn a_later_slot_goes_to_the_queue_rounded_down_to_whole_steps() {
        assert_eq!(meet(SECOND, SECOND), Meeting::Queue(SECOND));
        assert_eq!(meet(ms(1_300), SECOND), Meeting::Queue(SECOND));
        assert_eq!(meet(ms(2_999), SECOND), Meeting::Queue(ms(2_000)));
        assert_eq!(meet(ms(43_500), SECOND), Meeting::Queue(ms(43_000)));
        assert_eq!(
            meet(Duration::from_micros(2_500), ms(1)),
            Meeting::Queue(ms(2))
        );
        // A queue without steps takes the wait as it is.
        assert_eq!(meet(ms(1_300), Duration::ZERO), Meeting::Queue(ms(1_300)));
    }

    #[test]
    fn the_queue_then_the_wait_in_place_meet_the_slot_exactly() {
        // A message asked back for the rounded-down wait returns (at the
        // earliest) that long later; what is left is under one step and
        // waited for in place: the send lands on the slot, never after it
        // because of the queue's rounding, and nothing waits a step or more.
        for step in [SECOND, ms(1), ms(250)] {
            for wait in [ms(1), ms(999), ms(1_000), ms(1_001), ms(7_654)] {
                let mut left = wait;
                let mut waited_here = Duration::ZERO;
                loop {
                    match meet(left, step) {
                        Meeting::Now => break,
                        Meeting::Wait(d) => {
                            assert!(d < step, "{wait:?} on {step:?}: waits {d:?} in place");
                            waited_here += d;
                            left -= d;
                        }
                        Meeting::Queue(d) => {
                            assert!(d <= left && d.as_nanos() % step.as_nanos() == 0);
                            left -= d;
                        }
                    }
                }
                assert!(waited_here < step, "{wait:?} on {step:?}");
                assert_eq!(left, Duration::ZERO);
            }
        }
    }

    #[tokio::test]
    async fn reservations_of_one_limit_take_turns_and_others_do_not_wait() {
        let turns = Turns::default();
        let key = ConversationKey::new("test", "turns").unwrap();
        let first = turns.take(&Limited::Conversation(key.clone())).await;
        // Another limit's turn is free.
        let bot = tokio::time::timeout(ms(100), turns.take(&Limited::Global)).await;
        assert!(
            bot.is_ok(),
            "the bot's turn does not wait for a conversation's"
        );
        // The same limit's turn waits until the first is over.
        let same = Limited::Conversation(key);
        assert!(tokio::time::timeout(ms(50), turns.take(&same))
            .await
            .is_err());
        drop(first);
        drop(bot);
        assert!(tokio::time::timeout(ms(100), turns.take(&same))
            .await
            .is_ok());
        // Nothing is kept for limits nobody waits for.
        drop(turns.take(&Limited::Global).await);
        assert_eq!(
            turns.queues.lock().unwrap().len(),
            1,
            "only the last one taken"
        );
    }

    /// Asks for `sends` slots at once, each for its own conversation
    /// (`conversations` > 1) or all for one, the conversations spread over
    /// `tenants` buckets of the bot's limit; returns the send times and how
    /// many slots the conversations' and the bot's limits gave out.
    async fn ask(
        limits: &RateLimits,
        conversations: usize,
        tenants: usize,
        sends: usize,
    ) -> (Vec<Timestamp>, usize, usize) {
        use std::cell::RefCell;
        let now = Timestamp::from_second(1_700_000_040).unwrap();
        let states = RefCell::new(vec![RateState::default(); conversations]);
        let bot = RefCell::new(vec![RateState::default(); tenants]);
        let (given_conversation, given_bot) = (RefCell::new(0), RefCell::new(0));
        let bot_windows = limits.bot_windows();
        let mut times = Vec::new();
        for n in 0..sends {
            let time = agree(
                |at| {
                    *given_conversation.borrow_mut() += 1;
                    let slot = states.borrow_mut()[n % conversations].reserve(
                        &limits.conversation,
                        now,
                        at,
                    );
                    async move { Ok(slot) }
                },
                |at| {
                    *given_bot.borrow_mut() += 1;
                    let slot = bot.borrow_mut()[n % tenants].reserve(&bot_windows, now, at);
                    async move { Ok(slot) }
                },
                now,
            )
            .await
            .unwrap();
            times.push(time);
        }
        let since = |t: &Timestamp| t.duration_since(now);
        times.sort_by_key(since);
        (
            times,
            given_conversation.into_inner(),
            given_bot.into_inner(),
        )
    }

    #[tokio::test]
    async fn a_broadcast_spends_one_bot_slot_per_conversation() {
        let limits = RateLimits::default();
        let (times, _, bot_slots) = ask(&limits, 1000, 1, 1000).await;
        assert_eq!(bot_slots, 1000, "no bot slot given up");
        // 50 a second, every window widened by the margin: 1.5 s per 50.
        let last = times[999].duration_since(times[0]);
        assert!(
            last <= jiff::SignedDuration::from_secs(30),
            "1000 sends at the bot's limit took {last}"
        );
    }

    #[tokio::test]
    async fn a_burst_spends_one_conversation_slot_per_message() {
        let limits = RateLimits::default();
        let (times, conversation_slots, _) = ask(&limits, 1, 1, 100).await;
        assert_eq!(conversation_slots, 100, "no conversation slot given up");
        let last = times[99].duration_since(times[0]);
        assert!(
            last < jiff::SignedDuration::from_secs(50),
            "100 sends to one conversation took {last}"
        );
    }

    #[tokio::test]
    async fn each_tenant_has_a_bucket_of_its_own() {
        let limits = RateLimits::default();
        let took = |times: &[Timestamp]| times[times.len() - 1].duration_since(times[0]);
        let (one, _, _) = ask(&limits, 500, 1, 500).await;
        let (five, _, bot_slots) = ask(&limits, 500, 5, 500).await;
        assert_eq!(bot_slots, 500);
        // Five buckets side by side: a fifth of the time, give or take one
        // window of the bot's limit.
        assert!(
            took(&five) <= took(&one) / 5 + jiff::SignedDuration::from_millis(1_500),
            "one tenant {}, five tenants {}",
            took(&one),
            took(&five)
        );
    }

    #[test]
    fn a_slot_more_than_late_behind_is_given_up() {
        let slot = Timestamp::from_second(1_700_000_000).unwrap();
        let after = |n: i64| slot + jiff::SignedDuration::from_millis(n);
        assert!(!is_late(slot, after(-500)), "early is not late");
        assert!(!is_late(slot, after(250)));
        assert!(is_late(slot, after(251)));
    }
}
