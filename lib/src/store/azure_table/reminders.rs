//! Reminders: one entity each (`reminder:{id}`, row key `r`), and index
//! entities by status ([`super::index`]), written before the reminder and
//! removed after it changes, each checked against it when read:
//! - pending: the due index (`due`, row key the due time then the id, so
//!   the tick's read is one range up to now: its cost grows with what is
//!   due, never with what is stored), the owner's list (`remind:{owner}`,
//!   soonest first) and the setter's (`remindby:{user}`);
//! - parked: the owner's parked ones (`parked:{owner}`).
//!
//! The due index is one partition: its writes are reminder changes, far
//! below the ~2,000 entities a second a partition takes, and its read is
//! a range, so bucketing by minute would add partitions to read without
//! reading less. Entries the tick finds stale (their reminder advanced or
//! was cancelled, and a crash kept the entry) are removed as it reads, so
//! they never pile up in front of what is due.

use jiff::Timestamp;

use super::index;
use super::keys::{self, partition, sortable_millis};
use super::record::{backend, body, read_modify_write, with_body, Decision};
use super::rest::{Entity, TableClient};
use crate::ids::{ConversationKey, ReminderId};
use crate::store::{Holder, Reminder, ReminderStatus, StoreError};

const ROW: &str = "r";
const DUE: &str = "due";

pub async fn insert(table: &TableClient, reminder: &Reminder) -> Result<(), StoreError> {
    index::put(table, &entries(reminder)).await?;
    let entity = with_body(Entity::new(reminder_pk(&reminder.id), ROW), reminder)?;
    table.insert(&entity).await.map_err(backend)?;
    Ok(())
}

pub async fn get(table: &TableClient, id: &ReminderId) -> Result<Option<Reminder>, StoreError> {
    let found = table.get(&reminder_pk(id), ROW).await.map_err(backend)?;
    found.as_ref().map(body).transpose()
}

/// The owner's pending reminders, soonest first.
pub async fn list(
    table: &TableClient,
    owner: &ConversationKey,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    let listed = index::read(
        table,
        &owner_partition(owner),
        None,
        limit,
        |entry, r: &Reminder| r.status == ReminderStatus::Pending && timed_row(r) == entry.row_key,
    )
    .await?;
    Ok(listed.into_iter().map(|(_, r)| r).collect())
}

pub async fn count_pending(
    table: &TableClient,
    holder: Holder<'_>,
    limit: usize,
) -> Result<usize, StoreError> {
    let partition = match holder {
        Holder::Conversation(owner) => owner_partition(owner),
        Holder::User(user) => user_partition(user),
    };
    let pending = index::read(table, &partition, None, limit, |_, r: &Reminder| {
        r.status == ReminderStatus::Pending
    })
    .await?;
    Ok(pending.len())
}

pub async fn parked(
    table: &TableClient,
    owner: &ConversationKey,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    let listed = index::read(
        table,
        &parked_partition(owner),
        None,
        limit,
        |_, r: &Reminder| r.status == ReminderStatus::Parked,
    )
    .await?;
    Ok(listed.into_iter().map(|(_, r)| r).collect())
}

/// Replaces a parked reminder with `updated`; `false` if it is not parked.
pub async fn resume(table: &TableClient, updated: &Reminder) -> Result<bool, StoreError> {
    replace_if(table, updated, |stored| {
        stored.status == ReminderStatus::Parked
    })
    .await
}

/// Replaces a pending reminder due at `expected_due` with `updated`;
/// `false` if it is no longer so.
pub async fn advance(
    table: &TableClient,
    expected_due: Timestamp,
    updated: &Reminder,
) -> Result<bool, StoreError> {
    replace_if(table, updated, |stored| {
        stored.status == ReminderStatus::Pending && stored.next_due == expected_due
    })
    .await
}

/// Pending reminders due by `now`, soonest first, from the due index;
/// stale entries met on the way are removed.
pub async fn due(
    table: &TableClient,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<Reminder>, StoreError> {
    let filter = format!(
        "PartitionKey eq {} and RowKey le {}",
        keys::literal(DUE),
        keys::literal(&format!("{}~", sortable_millis(now, false)))
    );
    let mut due = Vec::new();
    let mut from = None;
    while due.len() < limit {
        let page = table
            .query(&filter, limit - due.len(), from.as_ref())
            .await
            .map_err(backend)?;
        let mut stale = Vec::new();
        for (entry, reminder) in index::with_records::<Reminder>(table, page.entities).await? {
            match reminder {
                Some(r)
                    if r.status == ReminderStatus::Pending && timed_row(&r) == entry.row_key =>
                {
                    due.push(r)
                }
                _ => stale.push(entry),
            }
        }
        index::remove(table, &stale).await?;
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    Ok(due)
}

/// Writes `updated` over the stored reminder if `still` holds for it:
/// its new entries first, its old ones removed after.
async fn replace_if(
    table: &TableClient,
    updated: &Reminder,
    still: impl Fn(&Reminder) -> bool,
) -> Result<bool, StoreError> {
    let new_entries = entries(updated);
    index::put(table, &new_entries).await?;
    let pk = reminder_pk(&updated.id);
    let before = read_modify_write(table, &pk, ROW, |found| {
        let Some(found) = found else {
            return Ok(Decision::Keep(None));
        };
        let stored: Reminder = body(found)?;
        if !still(&stored) {
            return Ok(Decision::Keep(None));
        }
        let entity = with_body(Entity::new(&pk, ROW), updated)?;
        Ok(Decision::Write(entity, Some(stored)))
    })
    .await?;
    let Some(before) = before else {
        return Ok(false);
    };
    let gone: Vec<Entity> = entries(&before)
        .into_iter()
        .filter(|old| {
            !new_entries
                .iter()
                .any(|new| new.partition_key == old.partition_key && new.row_key == old.row_key)
        })
        .collect();
    index::remove(table, &gone).await?;
    Ok(true)
}

/// The index entries a reminder in its status has.
fn entries(reminder: &Reminder) -> Vec<Entity> {
    let pk = reminder_pk(&reminder.id);
    let id = keys::encode(reminder.id.as_str());
    match reminder.status {
        ReminderStatus::Pending => {
            let timed = timed_row(reminder);
            let mut entries = vec![
                index::entry(DUE, &timed, &pk, ROW),
                index::entry(&owner_partition(&reminder.owner), &timed, &pk, ROW),
            ];
            if let Some(user) = reminder.created_by.as_deref() {
                entries.push(index::entry(&user_partition(user), &id, &pk, ROW));
            }
            entries
        }
        ReminderStatus::Parked => {
            vec![index::entry(
                &parked_partition(&reminder.owner),
                &id,
                &pk,
                ROW,
            )]
        }
        ReminderStatus::Done | ReminderStatus::Cancelled => Vec::new(),
    }
}

/// A pending reminder's row key in the due and owner indexes: its due
/// time, then its id.
fn timed_row(reminder: &Reminder) -> String {
    format!(
        "{}-{}",
        sortable_millis(reminder.next_due, false),
        keys::encode(reminder.id.as_str())
    )
}

fn reminder_pk(id: &ReminderId) -> String {
    partition("reminder", id.as_str())
}

fn owner_partition(owner: &ConversationKey) -> String {
    partition("remind", &owner.to_string())
}

fn user_partition(user: &str) -> String {
    partition("remindby", user)
}

fn parked_partition(owner: &ConversationKey) -> String {
    partition("parked", &owner.to_string())
}
