//! The bot on the in-memory store and queue at a time of the test's
//! choosing ([`crate::clock::ManualClock`]): what it stamps and schedules
//! follows its clock, not the machine's.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::Bot;
use crate::activity::Activity;
use crate::clock::ManualClock;
use crate::notification::Notification;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::Queue;
use crate::store::prelude::*;
use crate::store::sqlite::SqliteStore;
use crate::turn::Turn;

struct Setup {
    bot: Bot,
    store: Arc<SqliteStore>,
    queue: Arc<EmbeddedQueue>,
    at: Timestamp,
}

fn setup() -> Setup {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let queue = Arc::new(EmbeddedQueue::in_memory(0).unwrap());
    // A day back, in whole seconds (reminders are due on a second): clearly not the machine's now, and
    // in the past, so what the bot enqueues "30 s from now" is visible on
    // the (real-time) queue at once.
    let day_ago = Timestamp::now() - SignedDuration::from_hours(24);
    let at = Timestamp::from_second(day_ago.as_second()).unwrap();
    let bot = Bot::new(store.clone(), queue.clone()).with_clock(Arc::new(ManualClock::new(at)));
    Setup {
        bot,
        store,
        queue,
        at,
    }
}

fn said(text: &str) -> Turn {
    let activity: Activity = serde_json::from_value(json!({
        "type": "message",
        "id": "a1",
        "channelId": "emulator",
        "serviceUrl": "http://localhost:9/",
        "conversation": {"id": "clock"},
        "from": {"id": "user-1"},
        "recipient": {"id": "bot"},
        "text": text,
    }))
    .unwrap();
    Turn::parse(activity).unwrap()
}

#[tokio::test]
async fn a_job_and_its_completion_are_timed_by_the_bots_clock() {
    let s = setup();
    let turn = said("run 30");
    s.bot.handle(&turn).await.unwrap();
    let reference = s.store.get_reference(&turn.key).await.unwrap().unwrap();
    assert_eq!(
        reference.last_seen, s.at,
        "the reference is stamped by the clock"
    );
    let jobs = s.store.list_jobs("tenant:", 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].created_at, s.at);
    let message = s
        .queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .unwrap();
    let completion = Notification::from_queue_body(&message[0].body).unwrap();
    assert_eq!(
        completion.not_before,
        Some(s.at + SignedDuration::from_secs(30)),
        "the completion is due 30 s after the clock's now"
    );
}

#[tokio::test]
async fn a_reminder_is_scheduled_from_the_bots_clock() {
    let s = setup();
    let turn = said("remind me in 10 minutes to stretch");
    s.bot.handle(&turn).await.unwrap();
    let reminders = s.store.list_reminders(&turn.key, 10).await.unwrap();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].created_at, s.at);
    assert_eq!(reminders[0].next_due, s.at + SignedDuration::from_mins(10));
}
