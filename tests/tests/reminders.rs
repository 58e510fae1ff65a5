//! Reminders end to end on the in-process local host: set in chat, fired
//! by the tick, delivered by the notifier to the fake channel.
//!
//! The host runs its own ticker on the real clock (every 2 s), which is how
//! the short reminders arrive. Longer schedules are driven by calling the
//! same `schedule::tick` the ticker calls, on the host's own store and
//! queue, with a `now` from the future: a real tick on real data, just not
//! at the real time. Those reminders are an hour or more ahead, so the
//! host's ticker never fires them itself.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use nudge::calendar::Recurrence;
use nudge::ids::{NotificationId, ReminderId};
use nudge::schedule::{tick, TickReport};
use nudge::store::{DeliveryStatus, Reminder, ReminderStatus};
use nudge_tests::host::Harness;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// The prefix of the reply to a new reminder.
const SET: &str = "OK, I'll remind you";

async fn ask(h: &Harness, conversation: &str, text: &str, expect: &str) -> String {
    h.client.ask(&h.channel, conversation, text, expect).await
}

/// Sets a reminder and returns it as stored.
async fn set(h: &Harness, conversation: &str, phrase: &str) -> Reminder {
    let reply = ask(h, conversation, phrase, SET).await;
    let id: ReminderId = reply
        .split("Reminder id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the reply names the reminder id: {reply}"));
    stored(h, &id).await
}

async fn stored(h: &Harness, id: &ReminderId) -> Reminder {
    h.host
        .store()
        .get_reminder(id)
        .await
        .expect("get_reminder")
        .expect("the reminder is stored")
}

async fn tick_at(h: &Harness, now: Timestamp) -> TickReport {
    tick(h.host.store().as_ref(), h.host.queue(), now)
        .await
        .expect("tick")
}

fn count(h: &Harness, conversation: &str, text: &str) -> usize {
    h.channel
        .texts(conversation)
        .iter()
        .filter(|t| *t == text)
        .count()
}

#[tokio::test]
async fn a_reminder_a_few_seconds_ahead_arrives_once_in_its_conversation() {
    let h = Harness::start("reminder-once").await;
    ask(&h, "other", "help", "Here's what you can say").await;
    let asked = Instant::now();
    let reminder = set(&h, "alpha", "Remind me in 3 seconds to Stretch").await;
    assert_eq!(reminder.recurrence, Recurrence::Once);
    assert_eq!(reminder.text, "Stretch", "the text is kept as typed");

    let fired = h
        .channel
        .wait_for_text("alpha", "Reminder: Stretch", WAIT)
        .await;
    assert!(
        asked.elapsed() >= Duration::from_secs(3),
        "not before its time"
    );
    assert!(fired.is_proactive(), "sent as a new activity, not a reply");
    assert_eq!(fired.text(), "Reminder: Stretch");
    assert_eq!(
        fired.activity.recipient.as_ref().map(|r| r.id.as_str()),
        Some("user-alpha")
    );

    // Two more ticks of the host's own ticker, and still one message.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(count(&h, "alpha", "Reminder: Stretch"), 1);
    assert!(
        !h.channel
            .texts("other")
            .iter()
            .any(|t| t.starts_with("Reminder:")),
        "only the conversation that set it hears it"
    );
    let done = stored(&h, &reminder.id).await;
    assert_eq!(
        (done.status, done.fired),
        (ReminderStatus::Done, 1),
        "kept as done"
    );
    ask(&h, "alpha", "reminders", "There are no pending reminders").await;
    h.host.stop().await;
}

#[tokio::test]
async fn a_recurring_reminder_fires_each_occurrence_once() {
    let h = Harness::start("reminder-recurring").await;
    let first = set(&h, "rec", "remind me every 15 minutes to drink water").await;
    assert_eq!(first.recurrence, Recurrence::Interval { seconds: 900 });
    let listing = ask(&h, "rec", "reminders", "Pending reminders").await;
    assert!(
        listing.contains(&format!("{} —", first.id))
            && listing.contains("drink water — every 15 minutes"),
        "{listing}"
    );

    let report = tick_at(&h, first.next_due).await;
    assert_eq!((report.due, report.advanced), (1, 1));
    h.channel
        .wait_for_text("rec", "Reminder: drink water", WAIT)
        .await;
    let second = stored(&h, &first.id).await;
    assert_eq!(
        second.next_due,
        first.next_due + jiff::SignedDuration::from_mins(15)
    );
    assert_eq!((second.status, second.fired), (ReminderStatus::Pending, 1));

    // The second occurrence, seen by a tick a little late.
    let late = second.next_due + jiff::SignedDuration::from_secs(40);
    assert_eq!(tick_at(&h, late).await.advanced, 1);
    assert_eq!(
        tick_at(&h, late).await,
        TickReport::default(),
        "nothing twice"
    );
    h.channel
        .wait_for("the second occurrence", WAIT, |_| {
            count(&h, "rec", "Reminder: drink water") == 2
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&h, "rec", "Reminder: drink water"), 2);
    let third = stored(&h, &first.id).await;
    assert_eq!(
        third.next_due,
        second.next_due + jiff::SignedDuration::from_mins(15)
    );
    h.host.stop().await;
}

#[tokio::test]
async fn a_cancelled_reminder_never_arrives_and_cancel_explains_refusals() {
    let h = Harness::start("reminder-cancel").await;
    let doomed = set(&h, "c", "remind me in 3 seconds to never").await;
    let cancelled = ask(&h, "c", &format!("cancel {}", doomed.id), "Cancelled").await;
    assert!(cancelled.contains("\"never\""), "{cancelled}");
    assert_eq!(
        stored(&h, &doomed.id).await.status,
        ReminderStatus::Cancelled
    );

    let quick = set(&h, "c", "remind me in 1 second to quick").await;
    h.channel.wait_for_text("c", "Reminder: quick", WAIT).await;
    for (who, said, expected) in [
        ("c", format!("cancel {}", doomed.id), "already cancelled"),
        ("c", format!("cancel {}", quick.id), "already fired"),
        (
            "intruder",
            format!("cancel {}", quick.id),
            "set in another conversation",
        ),
        (
            "c",
            "cancel zzzzzzzz".to_owned(),
            "There is no reminder zzzzzzzz",
        ),
        ("c", "cancel 42".to_owned(), "`42` is not a reminder id"),
        ("c", "cancel".to_owned(), "Which reminder?"),
    ] {
        ask(&h, who, &said, expected).await;
    }
    // Past the doomed reminder's time, with ticks in between.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&h, "c", "Reminder: never"), 0);
    h.host.stop().await;
}

#[tokio::test]
async fn refused_phrases_explain_themselves_and_store_nothing() {
    let h = Harness::start("reminder-refusals").await;
    for (said, expected) in [
        (
            "remind me to stretch",
            "`remind me every 15 minutes to drink water`",
        ),
        ("remind me sometime to x", "Say it one of these ways"),
        ("remind me in 10 minutes", "What should I remind you of?"),
        ("remind me at 25:00 to x", "`25:00` is not a time of day"),
        (
            "remind me on 2026-02-30 at 9:00 to x",
            "`2026-02-30` is not a date",
        ),
        ("remind me on 2020-01-01 at 9:00 to x", "already passed"),
        ("remind me in 0 minutes to x", "more than zero"),
        ("remind me every 10 seconds to x", "at most once a minute"),
        ("remind me in 400 days to x", "more than a year away"),
    ] {
        ask(&h, "r", said, expected).await;
    }
    let key = "emulator#r".parse().expect("key");
    assert!(
        h.host
            .store()
            .list_reminders(&key, 10)
            .await
            .expect("list")
            .is_empty(),
        "nothing half-created"
    );
    h.host.stop().await;
}

#[tokio::test]
async fn times_are_read_and_shown_in_the_users_time_zone() {
    let h = Harness::start("reminder-zones").await;
    let say_in = |zone: &str, text: &str| {
        let mut message = h.client.message("tz", text);
        message["localTimezone"] = json!(zone);
        message
    };
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").expect("zone");

    h.client
        .post_activity(&say_in(
            "Europe/Berlin",
            "remind me tomorrow at 9:00 to call Oma",
        ))
        .await;
    let reply = h.channel.wait_for_text("tz", SET, WAIT).await;
    assert!(reply.text().contains(", 09:00 CE"), "{}", reply.text());
    assert!(reply.text().contains("(Europe/Berlin)"), "{}", reply.text());
    let key = "emulator#tz".parse().expect("key");
    let set = h.host.store().list_reminders(&key, 10).await.expect("list");
    assert_eq!(set[0].time_zone, "Europe/Berlin");
    assert_eq!(
        set[0].next_due.to_zoned(berlin).time(),
        jiff::civil::time(9, 0, 0, 0)
    );

    // Not an IANA name: the default zone (UTC here).
    h.client
        .post_activity(&say_in(
            "Mars/Olympus_Mons",
            "remind me tomorrow at 9:00 to x",
        ))
        .await;
    h.channel.wait_for_text("tz", ", 09:00 UTC.", WAIT).await;

    h.client
        .post_activity(&say_in("America/New_York", "reminders"))
        .await;
    let listing = h
        .channel
        .wait_for_text("tz", "times in America/New_York", WAIT)
        .await;
    assert!(listing.text().contains("call Oma"), "{}", listing.text());
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_racing_on_the_same_due_reminders_fire_each_occurrence_once() {
    let h = Harness::start("reminder-race").await;
    let mut reminders = Vec::new();
    for n in 0..6 {
        let conversation = format!("race-{n}");
        let phrase = format!("remind me in 1 hour to race {n}");
        reminders.push((conversation.clone(), set(&h, &conversation, &phrase).await));
    }
    let now = reminders
        .iter()
        .map(|(_, r)| r.next_due)
        .max()
        .expect("some");
    let (a, b, c) = tokio::join!(tick_at(&h, now), tick_at(&h, now), tick_at(&h, now));
    assert_eq!(
        a.advanced + b.advanced + c.advanced,
        reminders.len(),
        "each reminder advanced by exactly one tick: {a:?} {b:?} {c:?}"
    );
    assert!(a.enqueued + b.enqueued + c.enqueued >= reminders.len());
    // Typically every tick read and enqueued all of them before any advance.
    eprintln!("racing ticks: {a:?} {b:?} {c:?}");

    for (conversation, reminder) in &reminders {
        h.channel
            .wait_for_text(conversation, &format!("Reminder: {}", reminder.text), WAIT)
            .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (conversation, reminder) in &reminders {
        let text = format!("Reminder: {}", reminder.text);
        assert_eq!(count(&h, conversation, &text), 1, "{conversation}");
        let delivery = h
            .host
            .store()
            .get_delivery(&NotificationId::from_reminder(
                &reminder.id,
                reminder.next_due,
            ))
            .await
            .expect("get_delivery")
            .expect("a delivery record per occurrence");
        assert_eq!(delivery.status, DeliveryStatus::Sent);
    }
    h.host.stop().await;
}
