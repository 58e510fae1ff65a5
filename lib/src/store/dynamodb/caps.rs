//! What the caps and the parking of reminders read, from sparse index
//! entries that live records carry and finished ones drop:
//!
//! | entry | index | partition | while |
//! | --- | --- | --- | --- |
//! | a job in its job log | [`listing`](super::keys::LISTING) | `JOBLOG#{log}#{shard}` | always |
//! | an unfinished job, by owner | [`SUBSCRIBED`] | `RUNNING#{owner}` | not complete |
//! | an unfinished job, by the user who started it | [`USERS`] | `RUNBY#{user}` | not complete |
//! | a pending reminder, by the user who set it | [`USERS`] | `REMINDBY#{user}` | pending |
//! | a parked reminder, by owner | [`listing`](super::keys::LISTING) | `PARKED#{owner}` | parked |
//!
//! The `subscribed` and `user` indexes are shared with subscriptions and
//! references (one index, several kinds of entry, told apart by their
//! partition's prefix): each entry appears and disappears in the same
//! write as the status that decides it, so a count never drifts. A count
//! reads at most `limit` keys: a cap costs what the cap allows, never what
//! the store holds.

use super::keys::{Index, SUBSCRIBED, USERS};
use super::table::{Query, Range, Table};
use crate::ids::ConversationKey;
use crate::store::{Holder, StoreError};

/// [`listing`](super::keys::LISTING) partition prefix of one job log; the shard follows.
pub fn job_log_partition(log: &str) -> String {
    format!("JOBLOG#{log}#")
}

/// [`listing`](super::keys::LISTING) partition of a conversation's parked reminders.
pub fn parked_partition(owner: &ConversationKey) -> String {
    format!("PARKED#{owner}")
}

/// Where an unfinished job of `holder` is counted.
pub fn running_job_entry(holder: Holder<'_>) -> (Index, String) {
    match holder {
        Holder::Conversation(owner) => (SUBSCRIBED, format!("RUNNING#{owner}")),
        Holder::User(user) => (USERS, format!("RUNBY#{user}")),
    }
}

/// The [`USERS`] partition of the pending reminders a user set.
pub fn reminders_by_partition(user: &str) -> String {
    format!("REMINDBY#{user}")
}

/// How many entries `partition` of `index` holds, counting no further than
/// `limit`.
pub async fn count_up_to(
    table: &Table,
    index: Index,
    partition: String,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut pages = table.pages(Query {
        index: Some(index),
        partition,
        range: Range::All,
        forward: true,
    });
    let mut held = 0;
    while held < limit {
        match pages.next(limit - held).await? {
            Some(items) => held += items.len(),
            None => break,
        }
    }
    Ok(held.min(limit))
}
