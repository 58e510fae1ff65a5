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
use nudge::rate::{Ask, Limited, Rule, Window};
use nudge::store::Store;

use super::Scope;

/// Slots fill a window, then move past it; each conversation has its own.
pub async fn rate_limit_slots_fill_windows_in_order(store: &dyn Store) {
    let scope = Scope::new("rate-order");
    let margin = Duration::from_millis(10);
    let windows = Rule::new(vec![Window::new(2, 1)], margin);
    // A little ahead, so the adapter's own clock (slots are never in the
    // past) does not move it; slots are kept to the millisecond.
    let ahead = Timestamp::now().as_millisecond() + 10_000;
    let now = Timestamp::from_millisecond(ahead).expect("a time");
    let one = Limited::Conversation(scope.key(1));
    let mut slots = Vec::new();
    for _ in 0..3 {
        slots.push(
            store
                .reserve_send(&one, &windows, &Ask::from(now))
                .await
                .expect("reserve_send")
                .expect("no deadline: a slot"),
        );
    }
    let ms = jiff::SignedDuration::from_millis;
    assert_eq!(slots[0], now, "a window with room gives `earliest`");
    assert_eq!(
        slots[1],
        now + ms(500),
        "paced at the window's even interval"
    );
    assert_eq!(
        slots[2],
        now + ms(1_010),
        "a full window gives the time its oldest slot leaves it (and margin)"
    );
    assert_eq!(
        store
            .reserve_send(
                &one,
                &windows,
                &Ask {
                    replacing: Some(slots[2]),
                    ..Ask::from(now)
                }
            )
            .await
            .expect("reserve_send"),
        Some(now + ms(1_010)),
        "a slot given back in the same write is free again"
    );
    let other = Limited::Conversation(scope.key(2));
    assert_eq!(
        store
            .reserve_send(&other, &windows, &Ask::from(now))
            .await
            .expect("reserve_send"),
        Some(now),
        "another conversation has a window of its own"
    );
    assert_eq!(
        store
            .reserve_send(&one, &Rule::new(Vec::new(), margin), &Ask::from(now))
            .await
            .expect("reserve_send"),
        Some(now),
        "no windows: no limit"
    );
    let by = |ms_ahead| Ask {
        by: Some(now + ms(ms_ahead)),
        ..Ask::from(now + ms(5_000))
    };
    let third = Limited::Conversation(scope.key(3));
    assert_eq!(
        store
            .reserve_send(&third, &windows, &by(4_999))
            .await
            .expect("reserve_send"),
        None,
        "no slot by the deadline: none taken"
    );
    assert_eq!(
        store
            .reserve_send(&third, &windows, &by(5_000))
            .await
            .expect("reserve_send"),
        Some(now + ms(5_000)),
        "the deadline's own slot is free: nothing was taken before"
    );
}

/// Many callers at once: every slot is distinct in count, so no window
/// holds more than its limit.
pub async fn concurrent_rate_limit_slots_never_overfill(store: &dyn Store) {
    let scope = Scope::new("rate-race");
    let windows = Rule::new(vec![Window::new(3, 1)], Duration::from_millis(10));
    let limited = Limited::Conversation(scope.key(1));
    let ask = Ask::from(Timestamp::now());
    let mut slots: Vec<Timestamp> =
        join_all((0..12).map(|_| store.reserve_send(&limited, &windows, &ask)))
            .await
            .into_iter()
            .map(|slot| slot.expect("reserve_send").expect("a slot"))
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
