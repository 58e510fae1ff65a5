//! Jobs: one item each (`JOB#{id}`), listed newest first through the
//! sharded [`LISTING`] partitions of their job log (`JOBLOG#{log}#{shard}`),
//! sorted by creation time; an unfinished job is also counted by its owner
//! and its starter ([`super::caps`]). A finished job expires through the
//! table's TTL a retention after it finished.

use jiff::{SignedDuration, Timestamp};

use super::caps::{job_log_partition, running_job_entry};
use super::codec::{decode, encode, text};
use super::keys::{job_pk, sharded, shards, timed_sk, BODY, EXPIRES_AT, JOB_SK, LISTING, STATUS};
use super::listing::Sharded;
use super::table::{number, Change, Expect, Range, Table};
use crate::ids::JobId;
use crate::store::{Holder, Job, JobStatus, StoreError, TransitionError};

pub async fn insert(table: &Table, job: &Job) -> Result<(), StoreError> {
    let change = job_change(job)?
        .set(
            LISTING.pk,
            text(sharded(&job_log_partition(&job.log), job.id.as_str())),
        )
        .set(LISTING.sk, text(timed_sk(job.created_at, job.id.as_str())));
    if table
        .write(job_pk(&job.id), JOB_SK, &change, &Expect::Absent)
        .await?
    {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get(table: &Table, id: &JobId) -> Result<Option<Job>, StoreError> {
    let item = table.get(job_pk(id), JOB_SK).await?;
    item.as_ref().map(decode).transpose()
}

pub async fn list(table: &Table, log: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
    let newest_first = Sharded {
        index: LISTING,
        partitions: shards(&job_log_partition(log)).collect(),
        range: Range::All,
        forward: false,
    };
    newest_first.records(table, limit).await
}

/// Moves a job if its status is one of `from`: decided on a consistent
/// read, written only if the job is still as read. A finished job expires
/// (the table's TTL) `retention` after it finished.
pub async fn transition(
    table: &Table,
    id: &JobId,
    from: &[JobStatus],
    to: JobStatus,
    at: Timestamp,
    retention: SignedDuration,
) -> Result<Job, TransitionError> {
    table
        .read_modify_write(&job_pk(id), JOB_SK, |item| {
            let Some(item) = item else {
                return Ok((Err(TransitionError::NotFound), None));
            };
            let mut job: Job = decode(item)?;
            if !job.transition(from, to, at) {
                return Ok((Err(TransitionError::WrongState(job)), None));
            }
            let mut change = job_change(&job)?;
            if let Some(finished) = job.completed_at {
                let expires = finished.checked_add(retention).unwrap_or(Timestamp::MAX);
                change = change.set(EXPIRES_AT, number(expires.as_second()));
            }
            Ok((Ok(job), Some(change)))
        })
        .await?
}

/// The job's body and status, and its unfinished-job entries while it is
/// not complete.
fn job_change(job: &Job) -> Result<Change, StoreError> {
    let unfinished = job.status != JobStatus::Complete;
    let (by_owner, owner_partition) = running_job_entry(Holder::Conversation(&job.owner));
    let mut change = Change::default()
        .set(BODY, encode(job)?)
        .set(STATUS, text(job.status.to_string()))
        .set_or_remove(by_owner.pk, unfinished.then(|| text(owner_partition)))
        .set_or_remove(by_owner.sk, unfinished.then(|| text(job.id.to_string())));
    if let Some(user) = job.created_by.as_deref() {
        let (by_user, user_partition) = running_job_entry(Holder::User(user));
        change = change
            .set_or_remove(by_user.pk, unfinished.then(|| text(user_partition)))
            .set_or_remove(by_user.sk, unfinished.then(|| text(job.id.to_string())));
    }
    Ok(change)
}
