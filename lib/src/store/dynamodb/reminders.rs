//! Reminders: one item each (`REMINDER#{id}`).
//!
//! A pending reminder carries the keys of two sparse indexes, both sorted by
//! its due time: [`DUE_INDEX`] under `DUE#{shard}` (what the tick reads) and
//! [`LISTING`] under `OWNER#{conversation}` (a conversation's reminders).
//! When it is done, cancelled or parked the keys are removed, so neither
//! index ever holds anything but pending reminders, and `due_reminders`
//! reads only reminders that are due. A parked reminder is listed under
//! `PARKED#{conversation}` instead, and a pending one a user set is also
//! counted by that user ([`super::caps`]).

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::{SignedDuration, Timestamp};

use super::caps::{count_up_to, parked_partition, reminders_by_partition};
use super::codec::{decode, encode, text};
use super::keys::{
    owner_partition, reminder_pk, sharded, shards, sortable, timed_sk, BODY, DUE, DUE_INDEX,
    DUE_REMINDERS, LISTING, REMINDER_SK, STATUS, USERS,
};
use super::listing::Sharded;
use super::table::{number, Change, Expect, Range, Table};
use crate::ids::{ConversationKey, ReminderId};
use crate::store::{Holder, Reminder, ReminderStatus, StoreError};

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
    listed(table, owner_partition(owner), limit).await
}

/// The reminders of one [`LISTING`] partition, soonest first.
async fn listed(
    table: &Table,
    partition: String,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    let soonest_first = Sharded {
        index: LISTING,
        partitions: vec![partition],
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
    replace(table, updated, expect).await
}

/// Replaces a reminder only if it is still parked: one conditional write.
pub async fn resume(table: &Table, updated: &Reminder) -> Result<bool, StoreError> {
    let expect = Expect::Values(vec![(STATUS, text(ReminderStatus::Parked.to_string()))]);
    replace(table, updated, expect).await
}

async fn replace(table: &Table, updated: &Reminder, expect: Expect) -> Result<bool, StoreError> {
    let pk = reminder_pk(&updated.id);
    table
        .write(pk, REMINDER_SK, &reminder_change(updated)?, &expect)
        .await
}

pub async fn parked(
    table: &Table,
    owner: &ConversationKey,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    listed(table, parked_partition(owner), limit).await
}

pub async fn count_pending(
    table: &Table,
    holder: Holder<'_>,
    limit: usize,
) -> Result<usize, StoreError> {
    let (index, partition) = match holder {
        Holder::Conversation(owner) => (LISTING, owner_partition(owner)),
        Holder::User(user) => (USERS, reminders_by_partition(user)),
    };
    count_up_to(table, index, partition, limit).await
}

/// The whole item of a reminder; the due, owner and user index keys only
/// while it is pending, the parked listing's only while it is parked.
fn reminder_change(reminder: &Reminder) -> Result<Change, StoreError> {
    let pending = reminder.status == ReminderStatus::Pending;
    let parked = reminder.status == ReminderStatus::Parked;
    let when = timed_sk(reminder.next_due, reminder.id.as_str());
    let index = |value: String| pending.then(|| text(value));
    let listing = if pending {
        Some(owner_partition(&reminder.owner))
    } else if parked {
        Some(parked_partition(&reminder.owner))
    } else {
        None
    };
    let by_user = reminder.created_by.as_deref().filter(|_| pending);
    Ok(Change::default()
        .set(BODY, encode(reminder)?)
        .set(STATUS, text(reminder.status.to_string()))
        .set(DUE, nanos(reminder.next_due))
        .set_or_remove(
            DUE_INDEX.pk,
            index(sharded(DUE_REMINDERS, reminder.id.as_str())),
        )
        .set_or_remove(DUE_INDEX.sk, index(when.clone()))
        .set_or_remove(LISTING.sk, listing.is_some().then(|| text(when)))
        .set_or_remove(LISTING.pk, listing.map(text))
        .set_or_remove(USERS.pk, by_user.map(|u| text(reminders_by_partition(u))))
        .set_or_remove(USERS.sk, by_user.map(|_| text(reminder.id.to_string()))))
}

/// A time exactly, for equality in conditions.
fn nanos(at: Timestamp) -> AttributeValue {
    number(at.as_nanosecond())
}
