//! Taking a rate-limit slot before a send (the rule is in [`crate::rate`]).
//!
//! Each limit (the conversation's, the bot's in the conversation's tenant,
//! the optional cap over all tenants) gives a slot by an atomic reservation
//! in the store, and the send goes at a time every one of them gave
//! ([`agree`]). A slot now sends now. A later slot is kept in the delivery
//! record, the attempt gives its claim back uncounted, and the message
//! returns to the queue until then: waiting for room is not a failure.
//! When it comes back it sends in the slot it holds, without asking again,
//! unless it is more than [`crate::rate::RateLimits::late`] late (a busy
//! worker), when it takes a new one: sent that late, it could bunch with
//! the slots after it beyond the jitter allowance.
//!
//! **Meeting a slot on time** ([`meet`], [`super::lead`]). A queue delays
//! in steps ([`crate::queue::QueueLimits::delay_resolution`]: SQS in whole
//! seconds, rounded up; the embedded queue in milliseconds), and between
//! the queue showing a message and its send lie a receive, a claim and a
//! read, and perhaps a wait for a free worker. So the notifier asks the
//! queue to show the message that long (its learned lead, plus a margin on
//! the embedded queue) *before* the slot, in whole steps rounded down, and
//! waits out the rest here, in the attempt, then sends. That wait is not a
//! retry sleeping on a channel: it is bounded by one step plus the lead,
//! or by the queue's hold plus the lead ([`hold_in_place`] says why:
//! [`FINE_HOLD`], 150 ms, on the embedded queue; [`COARSE_HOLD`], 5 s, on
//! SQS, too coarse to bring a message back punctually), it happens at most
//! once per attempt, and it meets a time the queue cannot express. It sits
//! here, and not in the Lambda batch handler or the local loop, because
//! only the notifier knows which waits are slots (a backoff or a busy lease
//! may well come back late). Likewise a reservation is made for *now plus
//! the time a reservation takes*: the slot's time is fixed inside the
//! store's transaction, and the send can only leave once the write has
//! returned.
//!
//! **One reservation at a time per limit, per process** ([`Turns`]). A
//! reservation is a read-decide-write on the limit's state, and a writer
//! that finds the state changed since its read decides again (DynamoDB:
//! two requests per try). A process working on a burst for one
//! conversation (or a broadcast, for the bot's limit) would race its own
//! tasks for the same item, and every lost race costs requests and time;
//! so within a process the reservations of one limit take turns, and only
//! other processes (other Lambda instances) race. An agreement holds the
//! turns of all its limits until it is done, so that the slot it asks for
//! is counted from when it can be decided, not from before a wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::connector::Channel;
use crate::ids::ConversationKey;
use crate::service_url::{Provenance, ServiceUrl};
use crate::store::{DeliveryRecord, Store, StoreError};

use super::lead::Lead;
use super::Notifier;
use crate::rate::{self, Ask, Limited, RateLimits, Rule};

/// How often the limits are each asked for a slot, at most, before the
/// notifier gives up agreeing for this attempt ([`agree`]).
const AGREEMENT_ROUNDS: u32 = 4;

/// How often an attempt takes a new slot after missing one (its worker was
/// too slow to send on time) before it goes back on the queue.
const SLOT_TRIES: u32 = 3;

/// How soon a message comes back after its attempt could not settle on a
/// slot (the limits kept pushing each other, or every slot was missed).
const TRY_AGAIN: Duration = Duration::from_millis(50);

/// How a slot `wait` ahead is met, on a queue that delays in steps of
/// `step`, when the queue shows a message `lead` before it can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meeting {
    /// The slot has come: send.
    Now,
    /// The slot is less than one step and the lead away: wait this long
    /// here, then send.
    Wait(Duration),
    /// Back on the queue for this long, a whole number of steps (the rest
    /// is waited for when the message comes back).
    Queue(Duration),
}

/// How long a message may wait for its slot in place, and how much
/// earlier than its lead it is asked back from the queue ([`hold_in_place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hold {
    /// A slot this close (plus the lead) is waited for in place.
    pub(super) in_place: Duration,
    /// A message sent back to the queue is asked back this much before its
    /// slot beyond the lead, and waits the rest in place: it may come back
    /// that late and still be on time. Less than `in_place`, so that a
    /// message back on time waits in place rather than queueing again.
    pub(super) early: Duration,
}

impl Hold {
    /// No wait in place beyond one step and the lead.
    #[cfg(test)]
    const NONE: Hold = Hold {
        in_place: Duration::ZERO,
        early: Duration::ZERO,
    };
}

/// The rule of [`Meeting`]: a wait under one step (or the hold's
/// `in_place`, when longer) plus the lead is waited for in place; a longer
/// one, less the lead and the hold's `early`, goes to the queue rounded
/// down to whole steps (a queue that has no steps takes it as it is).
pub(super) fn meet(wait: Duration, step: Duration, lead: Duration, hold: Hold) -> Meeting {
    if wait.is_zero() {
        return Meeting::Now;
    }
    if wait < step.max(hold.in_place) + lead {
        return Meeting::Wait(wait);
    }
    let queued = wait.saturating_sub(lead + hold.early);
    if step.is_zero() {
        return Meeting::Queue(queued);
    }
    let steps = queued.as_nanos() / step.as_nanos();
    let whole = step
        .checked_mul(u32::try_from(steps).unwrap_or(u32::MAX))
        .unwrap_or(queued);
    Meeting::Queue(whole)
}

/// How long a message waits for its slot in place, on a queue that delays
/// in `step`s, when a send may be `late` for its slot: on a queue that
/// cannot bring a message back that punctually, up to [`COARSE_HOLD`];
/// on one that can, [`FINE_HOLD`].
///
/// Why the coarse hold: a slot held across a trip through such a queue is
/// often missed, and a missed slot is lost to everyone. SQS shows
/// messages in whole seconds, and a Lambda poller holds its batch until
/// every record is done, so a message shown on time may wait seconds for a
/// free poller: on
/// three notifier instances over moto half the held slots were missed that
/// way and a broadcast ran at 61 % of its limit. Waiting in place instead
/// misses nothing; a longer in-place wait only keeps the invocation (and
/// its poller) a little longer, and the learned lead cannot fix that, as
/// a longer lead lengthens the batches that hold the pollers up.
pub(super) fn hold_in_place(step: Duration, late: Duration) -> Hold {
    if step <= late {
        FINE_HOLD
    } else {
        Hold {
            in_place: COARSE_HOLD,
            early: Duration::ZERO,
        }
    }
}

/// The hold on a queue that delays in milliseconds (the embedded queue).
///
/// Why: a message the queue shows on time may still wait for a free worker,
/// most of all while a broadcast's first wave (every child visible at once,
/// each reserving its slot in turn) holds them all; one that comes back
/// late for the slot it holds wastes that slot, since nobody else may use
/// it. Measured on `nudge bench` (2026-12-03; 1,000 conversations over five
/// tenants at 50/s each): with no hold 80–90 % of the limit (sends came
/// back 5–372 ms late); asked back 100 ms early and holding up to 150 ms,
/// 98.9–99.6 %, and 99.1 % for 5,000 conversations. Holding costs workers:
/// at most the limits' rate times 150 ms of them wait at once (38 of the
/// default 64 at five tenants' 250/s).
pub(super) const FINE_HOLD: Hold = Hold {
    in_place: Duration::from_millis(150),
    early: Duration::from_millis(100),
};

/// The longest wait in place on a coarse queue: with a send's
/// [`crate::connector::CALL_TIMEOUT`] (20 s) and the claim, well inside
/// the notifier function's 30 s timeout (`template.yaml`). At 50 sends a
/// second it covers 250 slots, so a broadcast's records in flight (10 a
/// batch per concurrent invocation) rarely go back to the queue at all.
pub(super) const COARSE_HOLD: Duration = Duration::from_secs(5);

/// Takes slots from a conversation's limits and its tenant's, in the
/// store: the notifier's sends and the messages endpoint's replies alike.
pub struct Limiter {
    store: Arc<dyn Store>,
    limits: RateLimits,
    /// This process's reservations take turns per limit.
    turns: Turns,
    /// How long a reservation takes here (`super::lead`).
    reserve_lead: Lead,
    /// How long a message takes from the queue to its slot.
    queue_lead: Lead,
}

impl Limiter {
    /// A limiter keeping `limits` in `store`, which every worker shares.
    pub fn new(store: Arc<dyn Store>, limits: RateLimits) -> Limiter {
        Limiter {
            store,
            limits,
            turns: Turns::default(),
            reserve_lead: Lead::new(Duration::from_millis(2)),
            queue_lead: Lead::new(Duration::from_millis(50)),
        }
    }

    /// The limits it keeps.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Gets `channel` ready for a send to `service_url`
    /// ([`Channel::ready`]) when the send will be timed to a slot;
    /// with the limits off there is no slot to meet, and nothing to do.
    pub async fn ready(
        &self,
        channel: &dyn Channel,
        service_url: &ServiceUrl,
        provenance: Provenance,
    ) {
        if !self.limits.is_off() {
            channel.ready(service_url, provenance).await;
        }
    }

    /// The soonest slot a reservation asked now can give: now plus the time
    /// reservations take here.
    pub fn soonest(&self) -> Timestamp {
        super::later(Timestamp::now(), self.reserve_lead.ahead())
    }

    /// The limits a send to `key` (of `tenant`) is held to; none when no
    /// limit applies.
    ///
    /// Without a conversation (the creation of a 1:1 conversation,
    /// `delivery/member.rs`), only the tenant's and the global limits: the
    /// conversation is new, and the send into it after takes that
    /// conversation's slot as any send does.
    fn rules(&self, key: Option<&ConversationKey>, tenant: Option<&str>) -> Vec<(Limited, Rule)> {
        let conversation = key.map(|key| {
            (
                Limited::Conversation(key.clone()),
                self.limits.conversation_rule(),
            )
        });
        conversation
            .into_iter()
            .chain([
                (
                    Limited::Tenant(tenant.map(str::to_owned)),
                    self.limits.tenant_rule(),
                ),
                (Limited::Global, self.limits.global_rule()),
            ])
            .filter(|(_, rule)| !rule.is_unlimited())
            .collect()
    }

    /// A send time for `key` that every limit agreed on, no later than
    /// `by` if given (the private `agree`); the send must leave within
    /// [`RateLimits::late`] of it. With no limits: now.
    pub async fn agree_for(
        &self,
        key: &ConversationKey,
        tenant: Option<&str>,
        by: Option<Timestamp>,
    ) -> Result<Agreement, StoreError> {
        self.agree_on(Some(key), tenant, by).await
    }

    /// [`Limiter::agree_for`], for a conversation or (`None`) for the
    /// creation of one.
    async fn agree_on(
        &self,
        key: Option<&ConversationKey>,
        tenant: Option<&str>,
        by: Option<Timestamp>,
    ) -> Result<Agreement, StoreError> {
        let rules = self.rules(key, tenant);
        if rules.is_empty() {
            return Ok(Agreement::Agreed(Timestamp::now()));
        }
        // Each limit with room gives the moment it decides, so limits asked
        // one after another on a slow store (tens of milliseconds a
        // reservation) would each give a later "now" and never agree: the
        // slot is asked for far enough ahead that every reservation is done
        // by then. A first try that shows the store slower than learned
        // teaches the lead, and the second starts that far ahead.
        //
        // The turns of every limit are held for the whole agreement (taken
        // in one order: conversation, tenant, global, so no two agreements
        // wait for each other), and the lead is counted from there: a wait
        // for a turn behind this process's other sends varies with the
        // load, and a slot asked from before that wait was often in the
        // past by the time the store decided it, which sent the limits
        // chasing each other's "now".
        let _turns = self
            .turns
            .take_all(rules.iter().map(|(limited, _)| limited))
            .await;
        let mut agreed = Agreement::Disagreed(Timestamp::now());
        for _ in 0..2 {
            let asked = Instant::now();
            let earliest = super::later(Timestamp::now(), self.reserve_lead.ahead());
            agreed =
                agree(
                    &rules,
                    |limited, rule, ask| async move {
                        self.store.reserve_send(limited, rule, &ask).await
                    },
                    earliest,
                    by,
                    self.limits.jitter,
                )
                .await?;
            self.reserve_lead.observe(asked.elapsed());
            if !matches!(agreed, Agreement::Disagreed(_)) {
                break;
            }
        }
        Ok(agreed)
    }
}

impl Notifier {
    /// `None`: send now (after waiting here for a slot closer than the
    /// queue can express). `Some(wait)`: come back after that long; the
    /// record holds the slot, if one was agreed. `began` is when the
    /// attempt began, to learn how long a message takes from the queue to
    /// its slot.
    pub(super) async fn slot(
        &self,
        record: &mut DeliveryRecord,
        key: Option<&ConversationKey>,
        tenant: Option<&str>,
        began: Instant,
    ) -> Result<Option<Duration>, StoreError> {
        let limiter = &self.limiter;
        if limiter.limits.is_off() {
            record.send_at = None;
            return Ok(None);
        }
        let held = record.send_at.take();
        if let Some(at) = held {
            // It was asked back about `ahead` before its slot; what it took
            // from then to here is the lead it needed (the queue's own
            // delay, a wait for a free worker, the claim and the reads).
            let ahead =
                jiff::SignedDuration::try_from(limiter.queue_lead.ahead()).unwrap_or_default();
            let needed = ahead + Timestamp::now().duration_since(at);
            let needed = Duration::try_from(needed).unwrap_or_default();
            limiter.queue_lead.observe(needed.max(began.elapsed()));
        }
        let late = limiter.limits.late();
        let mut held = held.filter(|&at| {
            let kept = !is_late(at, Timestamp::now(), late);
            if !kept {
                let by = Timestamp::now().duration_since(at);
                tracing::debug!(conversation = ?key, late_by = %by, "came back too late for its slot; taking another");
            }
            kept
        });
        for _ in 0..SLOT_TRIES {
            let at = match held.take() {
                Some(at) => at,
                None => match limiter.agree_on(key, tenant, None).await? {
                    Agreement::Agreed(at) => at,
                    Agreement::Disagreed(at) | Agreement::NotBy(at) => {
                        tracing::debug!(conversation = ?key, "the limits gave no common slot; asking again later");
                        let wait = super::time_until(Some(at), Timestamp::now());
                        return Ok(Some(wait.unwrap_or(TRY_AGAIN)));
                    }
                },
            };
            let wait = super::time_until(Some(at), Timestamp::now()).unwrap_or_default();
            let step = self.queue.limits().delay_resolution;
            match meet(
                wait,
                step,
                limiter.queue_lead.ahead(),
                hold_in_place(step, late),
            ) {
                Meeting::Now => {}
                Meeting::Wait(wait) => tokio::time::sleep(wait).await,
                Meeting::Queue(wait) => {
                    record.send_at = Some(at);
                    return Ok(Some(wait));
                }
            }
            if !is_late(at, Timestamp::now(), late) {
                return Ok(None);
            }
            tracing::debug!(conversation = ?key, "slot missed; taking another");
        }
        Ok(Some(TRY_AGAIN))
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

/// The outcome of the private `agree`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Every limit gave a slot close enough before this time: send then.
    Agreed(Timestamp),
    /// They did not agree in `AGREEMENT_ROUNDS`; this is the latest slot
    /// seen (the slots last given stay counted, which errs on the safe
    /// side).
    Disagreed(Timestamp),
    /// Some limit had no slot by the deadline; every slot taken was given
    /// back. This is the latest slot seen.
    NotBy(Timestamp),
}

/// A send time that every limit has given a slot for, each no more before
/// it than its rule's margin affords beyond the send's own `jitter`
/// allowance: the conversation's (margin twice the jitter) up to one
/// jitter before, the bot's limits (margin one jitter) exactly at it.
///
/// Each limit is asked in turn from the latest slot so far. When one gives
/// a later slot than the others (it is at its limit), only the limits
/// whose slots now lie too far before it are asked again, from there,
/// giving back the slot they gave before in the same write; so a slot of
/// the limit that is holding things up is never given up, and no limit
/// keeps a slot that is not used: a broadcast (bot-bound) spends one bot
/// slot and one conversation slot per conversation, a burst
/// (conversation-bound) one of each per message.
pub(super) async fn agree<'r, R, F>(
    rules: &'r [(Limited, Rule)],
    mut reserve: R,
    earliest: Timestamp,
    by: Option<Timestamp>,
    jitter: Duration,
) -> Result<Agreement, StoreError>
where
    R: FnMut(&'r Limited, &'r Rule, Ask) -> F,
    F: std::future::Future<Output = Result<Option<Timestamp>, StoreError>>,
{
    let mut slots: Vec<Option<Timestamp>> = vec![None; rules.len()];
    // Slots are kept to the millisecond: start on one, or a slot at
    // `earliest` would seem to lie before it.
    let mut latest = rate::whole_millisecond(earliest);
    let fits = |slot: Option<Timestamp>, rule: &Rule, latest: Timestamp| {
        slot.is_some_and(|s| !is_late(s, latest, rule.margin.saturating_sub(jitter)))
    };
    for _ in 0..AGREEMENT_ROUNDS {
        for (n, (limited, rule)) in rules.iter().enumerate() {
            if fits(slots[n], rule, latest) {
                continue;
            }
            let ask = Ask {
                earliest: latest,
                replacing: slots[n],
                by,
            };
            match reserve(limited, rule, ask).await? {
                Some(slot) => {
                    slots[n] = Some(slot);
                    latest = latest.max(slot);
                }
                None => {
                    slots[n] = None;
                    for ((limited, rule), slot) in rules.iter().zip(&slots) {
                        if let Some(slot) = slot {
                            reserve(limited, rule, Ask::give_back(*slot)).await?;
                        }
                    }
                    return Ok(Agreement::NotBy(latest));
                }
            }
        }
        if rules
            .iter()
            .zip(&slots)
            .all(|((_, rule), slot)| fits(*slot, rule, latest))
        {
            return Ok(Agreement::Agreed(latest));
        }
    }
    Ok(Agreement::Disagreed(latest))
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

    /// The turns of every one of `limits`, taken in the order given.
    async fn take_all<'l>(
        &self,
        limits: impl Iterator<Item = &'l Limited>,
    ) -> Vec<OwnedMutexGuard<()>> {
        let mut turns = Vec::new();
        for limited in limits {
            turns.push(self.take(limited).await);
        }
        turns
    }
}

/// Whether `now` is more than `by` after `slot`.
fn is_late(slot: Timestamp, now: Timestamp, by: Duration) -> bool {
    super::time_until(Some(now), slot).is_some_and(|late| late > by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{RateLimits, RateState};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_slot_that_has_come_sends_now() {
        assert_eq!(
            meet(Duration::ZERO, SECOND, ms(5), Hold::NONE),
            Meeting::Now
        );
        assert_eq!(
            meet(Duration::ZERO, Duration::ZERO, Duration::ZERO, Hold::NONE),
            Meeting::Now
        );
    }

    #[test]
    fn a_slot_within_one_step_and_the_lead_is_waited_for_in_place() {
        assert_eq!(meet(ms(1), SECOND, ms(5), Hold::NONE), Meeting::Wait(ms(1)));
        assert_eq!(
            meet(ms(999), SECOND, ms(5), Hold::NONE),
            Meeting::Wait(ms(999))
        );
        assert_eq!(
            meet(ms(1_004), SECOND, ms(5), Hold::NONE),
            Meeting::Wait(ms(1_004))
        );
        // Without a hold, a fine queue waits in place for the lead only.
        assert_eq!(
            meet(ms(20), ms(1), ms(25), Hold::NONE),
            Meeting::Wait(ms(20))
        );
    }

    #[test]
    fn a_coarse_queue_holds_slots_within_its_hold_in_place() {
        let hold = hold_in_place(SECOND, ms(5));
        assert_eq!(hold.in_place, COARSE_HOLD);
        assert_eq!(hold_in_place(ms(1), ms(5)), FINE_HOLD);
        assert_eq!(
            meet(ms(4_900), SECOND, ms(5), hold),
            Meeting::Wait(ms(4_900))
        );
        assert_eq!(
            meet(ms(7_500), SECOND, ms(5), hold),
            Meeting::Queue(ms(7_000))
        );
    }

    #[test]
    fn a_fine_queue_asks_a_message_back_early_and_it_then_waits_in_place() {
        let hold = hold_in_place(ms(1), ms(5));
        assert!(hold.early < hold.in_place);
        // Within the hold: in place.
        assert_eq!(meet(ms(170), ms(1), ms(25), hold), Meeting::Wait(ms(170)));
        // Beyond it: back on the queue, asked back the lead and `early`
        // before the slot...
        assert_eq!(
            meet(ms(1_000), ms(1), ms(25), hold),
            Meeting::Queue(ms(875))
        );
        // ...so that coming back on time, or up to `early` late, it waits
        // in place for what is left.
        assert_eq!(meet(ms(125), ms(1), ms(25), hold), Meeting::Wait(ms(125)));
        assert_eq!(meet(ms(30), ms(1), ms(25), hold), Meeting::Wait(ms(30)));
    }

    #[test]
    fn a_later_slot_goes_to_the_queue_less_the_lead_rounded_down() {
        assert_eq!(
            meet(ms(1_005), SECOND, ms(5), Hold::NONE),
            Meeting::Queue(SECOND)
        );
        assert_eq!(
            meet(ms(1_300), SECOND, ms(5), Hold::NONE),
            Meeting::Queue(SECOND)
        );
        assert_eq!(
            meet(ms(2_004), SECOND, ms(5), Hold::NONE),
            Meeting::Queue(SECOND)
        );
        assert_eq!(
            meet(ms(43_500), SECOND, ms(5), Hold::NONE),
            Meeting::Queue(ms(43_000))
        );
        assert_eq!(
            meet(ms(300), ms(1), ms(25), Hold::NONE),
            Meeting::Queue(ms(275))
        );
        // A queue without steps takes the wait less the lead as it is.
        assert_eq!(
            meet(ms(1_300), Duration::ZERO, ms(5), Hold::NONE),
            Meeting::Queue(ms(1_295))
        );
    }

    #[test]
    fn the_queue_then_the_wait_in_place_meet_the_slot_exactly() {
        // A message asked back for the queued wait returns (at the
        // earliest) that long later; what is left is under one step (or
        // the hold) plus the lead and waited for in place, after one trip
        // through the queue at most: the send lands on the slot, never
        // after it because of the queue's rounding.
        for (step, lead, hold) in [
            (SECOND, ms(5), Hold::NONE),
            (ms(1), ms(25), Hold::NONE),
            (ms(250), ms(0), Hold::NONE),
            (ms(1), ms(25), FINE_HOLD),
            (ms(1), ms(300), FINE_HOLD),
            (SECOND, ms(40), hold_in_place(SECOND, ms(5))),
        ] {
            for wait in [ms(1), ms(999), ms(1_000), ms(1_001), ms(7_654)] {
                let mut left = wait;
                let mut waited_here = Duration::ZERO;
                let mut trips = 0;
                loop {
                    match meet(left, step, lead, hold) {
                        Meeting::Now => break,
                        Meeting::Wait(d) => {
                            waited_here += d;
                            left -= d;
                        }
                        Meeting::Queue(d) => {
                            assert!(d + lead <= left);
                            assert!(step.is_zero() || d.as_nanos() % step.as_nanos() == 0);
                            left -= d;
                            trips += 1;
                        }
                    }
                }
                assert!(trips <= 1, "{wait:?} on {step:?}: {trips} trips");
                assert!(
                    waited_here < step.max(hold.in_place) + lead,
                    "{wait:?} on {step:?}"
                );
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

    /// What [`ask`] saw.
    struct Asked {
        /// Send times, sorted.
        times: Vec<Timestamp>,
        /// Slots each limit gave out: conversation, tenant, global.
        given: [usize; 3],
        /// Sends that got no agreed slot.
        disagreed: usize,
    }

    /// Asks for `sends` slots at once, each for its own conversation
    /// (`conversations` > 1) or all for one, the conversations spread over
    /// `tenants` buckets of the bot's limit.
    async fn ask(limits: &RateLimits, conversations: usize, tenants: usize, sends: usize) -> Asked {
        ask_for(limits, |n| n % conversations, tenants, sends).await
    }

    /// [`ask`], send `n` going to conversation `conversation_of(n)`
    /// (below `sends`).
    async fn ask_for(
        limits: &RateLimits,
        conversation_of: impl Fn(usize) -> usize,
        tenants: usize,
        sends: usize,
    ) -> Asked {
        let conversations = sends;
        use std::cell::RefCell;
        let now = Timestamp::from_second(1_700_000_040).unwrap();
        let states = RefCell::new(vec![RateState::default(); conversations + tenants + 1]);
        let given = RefCell::new([0usize; 3]);
        let mut times = Vec::new();
        let mut disagreed = 0;
        for n in 0..sends {
            let key = ConversationKey::new("test", &format!("c{}", conversation_of(n))).unwrap();
            let tenant = format!("t{}", n % tenants);
            let rules = vec![
                (Limited::Conversation(key), limits.conversation_rule()),
                (Limited::Tenant(Some(tenant)), limits.tenant_rule()),
                (Limited::Global, limits.global_rule()),
            ];
            let rules: Vec<_> = rules
                .into_iter()
                .filter(|(_, r)| !r.is_unlimited())
                .collect();
            let agreed = agree(
                &rules,
                |limited, rule, ask| {
                    let (index, which) = match limited {
                        Limited::Conversation(_) => (conversation_of(n), 0),
                        Limited::Tenant(_) => (conversations + n % tenants, 1),
                        Limited::Global => (conversations + tenants, 2),
                    };
                    given.borrow_mut()[which] += 1;
                    let slot = states.borrow_mut()[index].take(rule, now, &ask);
                    async move { Ok(slot) }
                },
                now,
                None,
                limits.jitter,
            )
            .await
            .unwrap();
            match agreed {
                Agreement::Agreed(at) => times.push(at),
                Agreement::Disagreed(_) | Agreement::NotBy(_) => disagreed += 1,
            }
        }
        times.sort();
        Asked {
            times,
            given: given.into_inner(),
            disagreed,
        }
    }

    fn took(times: &[Timestamp]) -> jiff::SignedDuration {
        times[times.len() - 1].duration_since(times[0])
    }

    #[tokio::test]
    async fn a_broadcast_runs_at_the_bot_limit_and_spends_one_bot_slot_each() {
        let limits = RateLimits::default();
        let asked = ask(&limits, 1000, 1, 1000).await;
        assert_eq!(asked.disagreed, 0);
        assert_eq!(asked.given[1], 1000, "no bot slot given up");
        // 50 per 1.01 s.
        let rate = 999.0 / took(&asked.times).as_secs_f64();
        assert!((49.5..50.0).contains(&rate), "{rate} a second");
    }

    #[tokio::test]
    async fn a_burst_spends_one_conversation_slot_per_message() {
        let limits = RateLimits::default();
        let asked = ask(&limits, 1, 1, 100).await;
        assert_eq!(asked.disagreed, 0);
        assert_eq!(asked.given[0], 100, "no conversation slot given up");
        let took = took(&asked.times);
        assert!(
            took < jiff::SignedDuration::from_secs(45),
            "100 sends to one conversation took {took}"
        );
    }

    #[tokio::test]
    async fn each_tenant_has_a_bucket_of_its_own() {
        let limits = RateLimits::default();
        let one = ask(&limits, 500, 1, 500).await;
        let five = ask(&limits, 500, 5, 500).await;
        assert_eq!(five.given[1], 500);
        // Five buckets side by side: a fifth of the time, give or take one
        // window of the bot's limit.
        assert!(
            took(&five.times) <= took(&one.times) / 5 + jiff::SignedDuration::from_millis(1_010),
            "one tenant {}, five tenants {}",
            took(&one.times),
            took(&five.times)
        );
    }

    #[tokio::test]
    async fn a_global_cap_over_tenants_holds_and_every_limit_agrees() {
        let limits = RateLimits {
            global_per_second: 60,
            ..RateLimits::default()
        };
        let asked = ask(&limits, 300, 5, 300).await;
        assert_eq!(asked.disagreed, 0);
        let rate = 299.0 / took(&asked.times).as_secs_f64();
        assert!((59.0..60.0).contains(&rate), "{rate} a second");
    }

    #[tokio::test]
    async fn mixed_burst_and_broadcast_agree_within_each_margin() {
        // Every fourth message to one busy conversation, the rest a
        // broadcast in the same tenant: both limits bind at once.
        let limits = RateLimits::default();
        let asked = ask_for(&limits, |n| if n % 4 == 0 { 0 } else { n }, 1, 400).await;
        assert_eq!(asked.disagreed, 0);
        assert_eq!(asked.given[1], 400, "no bot slot given up");
        // The burst's 100 take about 40 s at the conversation's windows;
        // the broadcast's 300 fill the bot's limit meanwhile.
        let took = took(&asked.times);
        assert!(took < jiff::SignedDuration::from_secs(45), "took {took}");
    }

    #[test]
    fn a_slot_more_than_late_behind_is_given_up() {
        let slot = Timestamp::from_second(1_700_000_000).unwrap();
        let after = |n: i64| slot + jiff::SignedDuration::from_millis(n);
        let late = RateLimits::default().late();
        assert!(!is_late(slot, after(-500), late), "early is not late");
        assert!(!is_late(slot, after(5), late));
        assert!(is_late(slot, after(6), late));
    }
}
