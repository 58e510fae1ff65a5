//! The rate-limit method of the [`Store`] suite: slots are given out by
//! the rule of `RateState::reserve`, and concurrent callers never share
//! one (the adapter's read-decide-write is atomic).
//!
//! Each check limits conversations of its own scope, at explicit times
//! just ahead of the real clock: an adapter never gives a slot in the past,
//! and forgets what lies well before its own present.

use std::time::Duration;

use futures::future::join_all;
use jiff::Timestamp;
use nudge::delivery::rate::{Limited, Window, SAFETY_MARGIN};
use nudge::store::Store;

use super::Scope;

/// Slots fill a window, then move past it; each conversation has its own.
pub async fn rate_limit_slots_fill_windows_in_order(store: &dyn Store) {
    let scope = Scope::new("rate-order");
    let windows = [Window::new(2, 1)];
    // A little ahead, so the adapter's own clock (slots are never in the
    // past) does not move it; slots are kept to the millisecond.
    let ahead = Timestamp::now().as_millisecond() + 10_000;
    let now = Timestamp::from_millisecond(ahead).expect("a time");
    let one = Limited::Conversation(scope.key(1));
    let mut slots = Vec::new();
    for _ in 0..3 {
        slots.push(
            store
                .reserve_send(&one, &windows, now)
                .await
                .expect("reserve_send"),
        );
    }
    assert_eq!(
        slots[..2],
        [now, now],
        "a window with room gives `earliest`"
    );
    let span = jiff::SignedDuration::try_from(Duration::from_secs(1) + SAFETY_MARGIN)
        .expect("a small duration");
    assert_eq!(
        slots[2],
        now + span,
        "a full window gives the time its oldest slot leaves it"
    );
    let other = Limited::Conversation(scope.key(2));
    assert_eq!(
        store
            .reserve_send(&other, &windows, now)
            .await
            .expect("reserve_send"),
        now,
        "another conversation has a window of its own"
    );
    assert_eq!(
        store
            .reserve_send(&one, &[], now)
            .await
            .expect("reserve_send"),
        now,
        "no windows: no limit"
    );
}

/// Many callers at once: every slot is distinct in count, so no window
/// holds more than its limit.
pub async fn concurrent_rate_limit_slots_never_overfill(store: &dyn Store) {
    let scope = Scope::new("rate-race");
    let windows = [Window::new(3, 1)];
    let limited = Limited::Conversation(scope.key(1));
    let now = Timestamp::now();
    let mut slots: Vec<Timestamp> =
        join_all((0..12).map(|_| store.reserve_send(&limited, &windows, now)))
            .await
            .into_iter()
            .map(|slot| slot.expect("reserve_send"))
            .collect();
    slots.sort();
    for (i, slot) in slots.iter().enumerate() {
        let within = slots[i..]
            .iter()
            .take_while(|other| other.duration_since(*slot).as_secs_f64() < 1.0)
            .count();
        assert!(
            within <= 3,
            "{within} slots within a second from {slot}: {slots:?}"
        );
    }
}
