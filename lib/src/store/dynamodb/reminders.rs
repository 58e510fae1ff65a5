//! Reminders: one item each (`REMINDER#{id}`).
//!
//! A pending reminder carries the keys of two sparse indexes, both sorted by
//! its due time: [`DUE_INDEX`] under `DUE#{shard}` (what the tick reads) and
//! [`LISTING`] under `OWNER#{conversation}` (a conversation's reminders).
//! When it is done or cancelled the keys are removed, so neither index ever
//! holds anything but pending reminders, and `due_reminders` reads only
//! reminders that are due.

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};

use super::codec::{decode, encode, text};
use super::keys::{
    owner_partition, reminder_pk, sharded, shards, sortable, timed_sk, BODY, DUE, DUE_INDEX,
    DUE_REMINDERS, LISTING, REMINDER_SK, STATUS,
};
use super::listing::Sharded;
use super::table::{number, Change, Expect, Range, Table};
use crate::ids::{ConversationKey, ReminderId};
use crate::store::{Reminder, ReminderStatus, StoreError};

pub async fn insert(table: &Table, reminder: &Reminder) -> Result<(), StoreError> {
    let pk = reminder_pk(&reminder.id);
    let change = reminder_change(reminder)?;
    if table
        .write(pk, REMINDER_SK, &change, &Expect::Absent)
        .await?
    {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get(table: &Table, id: &ReminderId) -> Result<Option<Reminder>, StoreError> {
    let item = table.get(reminder_pk(id), REMINDER_SK).await?;
    item.as_ref().map(decode).transpose()
}

pub async fn of_owner(
    table: &Table,
    owner: &ConversationKey,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    let soonest_first = Sharded {
        index: LISTING,
        partitions: vec![owner_partition(owner)],
        range: Range::All,
        forward: true,
    };
    soonest_first.records(table, limit).await
}

pub async fn due(table: &Table, now: Timestamp, limit: usize) -> Result<Vec<Reminder>, StoreError> {
    // Sort keys are `{due}#{id}`: every key below the next instant's
    // prefix is due at or before `now`.
    let range = now
        .checked_add(SignedDuration::from_nanos(1))
        .map_or(Range::All, |next| Range::Before(sortable(next)));
    let soonest_first = Sharded {
        index: DUE_INDEX,
        partitions: shards(DUE_REMINDERS).collect(),
        range,
        forward: true,
    };
    soonest_first.records(table, limit).await
}

/// Replaces a reminder only if it is still pending and due at
/// `expected_due`: one conditional write.
pub async fn advance(
    table: &Table,
    expected_due: Timestamp,
    updated: &Reminder,
) -> Result<bool, StoreError> {
    let expect = Expect::Values(vec![
        (STATUS, text(ReminderStatus::Pending.to_string())),
        (DUE, nanos(expected_due)),
    ]);
    let pk = reminder_pk(&updated.id);
    table
        .write(pk, REMINDER_SK, &reminder_change(updated)?, &expect)
        .await
}

/// The whole item of a reminder; the index keys only while it is pending.
fn reminder_change(reminder: &Reminder) -> Result<Change, StoreError> {
    let pending = reminder.status == ReminderStatus::Pending;
    let when = timed_sk(reminder.next_due, reminder.id.as_str());
    let index = |value: String| pending.then(|| text(value));
    Ok(Change::default()
        .set(BODY, encode(reminder)?)
        .set(STATUS, text(reminder.status.to_string()))
        .set(DUE, nanos(reminder.next_due))
        .set_or_remove(
            DUE_INDEX.pk,
            index(sharded(DUE_REMINDERS, reminder.id.as_str())),
        )
        .set_or_remove(DUE_INDEX.sk, index(when.clone()))
        .set_or_remove(LISTING.pk, index(owner_partition(&reminder.owner)))
        .set_or_remove(LISTING.sk, index(when)))
}

/// A time exactly, for equality in conditions.
fn nanos(at: Timestamp) -> AttributeValue {
    number(at.as_nanosecond())
}
