//! Jobs: one entity each (`job:{id}`, row key `r`), and two kinds of index
//! entity, since Table Storage has no secondary indexes:
//! - the job log (`joblog:{log}`, row key newest first: the inverted
//!   creation time, then the id), read by `list_jobs`;
//! - unfinished jobs by holder (`running:{owner}` and `runby:{user}`, row
//!   key the id), counted by `count_running_jobs`.
//!
//! Index entities are written before the job and removed after it changes,
//! and a reader keeps only entries the job agrees with (same log and
//! creation time; still unfinished). So a crash between the two writes
//! leaves an entry readers skip, never a job a listing misses.

use jiff::Timestamp;

use super::index;
use super::keys::{self, partition, sortable_millis};
use super::record::{backend, body, read_modify_write, with_body, Decision};
use super::rest::{Entity, TableClient};
use super::retention::{self, Kind};
use crate::ids::JobId;
use crate::store::{Holder, Job, JobStatus, StoreError, TransitionError};

const ROW: &str = "r";

pub async fn insert(table: &TableClient, job: &Job) -> Result<(), StoreError> {
    let mut entries = entries_of(job);
    entries.push(retention::entry(
        Kind::Job,
        job.created_at,
        &job_pk(&job.id),
        ROW,
    ));
    index::put(table, &entries).await?;
    let entity = with_body(Entity::new(job_pk(&job.id), ROW), job)?;
    table.insert(&entity).await.map_err(backend)?;
    Ok(())
}

pub async fn get(table: &TableClient, id: &JobId) -> Result<Option<Job>, StoreError> {
    let found = table.get(&job_pk(id), ROW).await.map_err(backend)?;
    found.as_ref().map(body).transpose()
}

/// The log's jobs, newest first: index entries in order, each checked
/// against its job.
pub async fn list(table: &TableClient, log: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
    let listed = index::read(
        table,
        &partition("joblog", log),
        None,
        limit,
        |entry, job: &Job| job.log == log && log_row(job) == entry.row_key,
    )
    .await?;
    Ok(listed.into_iter().map(|(_, job)| job).collect())
}

/// How many of the holder's jobs are unfinished, up to `limit`.
pub async fn count_running(
    table: &TableClient,
    holder: Holder<'_>,
    limit: usize,
) -> Result<usize, StoreError> {
    let running = index::read(
        table,
        &running_partition(holder),
        None,
        limit,
        |_, job: &Job| job.status != JobStatus::Complete,
    )
    .await?;
    Ok(running.len())
}

pub async fn transition(
    table: &TableClient,
    id: &JobId,
    from: &[JobStatus],
    to: JobStatus,
    at: Timestamp,
) -> Result<Job, TransitionError> {
    let pk = job_pk(id);
    let moved = read_modify_write(table, &pk, ROW, |found| {
        let Some(found) = found else {
            return Ok(Decision::Keep(Err(TransitionError::NotFound)));
        };
        let mut job: Job = body(found)?;
        if !job.transition(from, to, at) {
            return Ok(Decision::Keep(Err(TransitionError::WrongState(job))));
        }
        let entity = with_body(Entity::new(&pk, ROW), &job)?;
        Ok(Decision::Write(entity, Ok(job)))
    })
    .await??;
    if moved.status == JobStatus::Complete {
        index::remove(table, &running_entries(&moved)).await?;
    }
    Ok(moved)
}

fn job_pk(id: &JobId) -> String {
    partition("job", id.as_str())
}

fn log_row(job: &Job) -> String {
    format!("{}-{}", sortable_millis(job.created_at, true), job.id)
}

/// The job's index entries: its log's, and while unfinished its holders'.
pub fn entries_of(job: &Job) -> Vec<Entity> {
    let mut entries = vec![log_entry(job)];
    if job.status != JobStatus::Complete {
        entries.extend(running_entries(job));
    }
    entries
}

fn log_entry(job: &Job) -> Entity {
    index::entry(
        &partition("joblog", &job.log),
        &log_row(job),
        &job_pk(&job.id),
        ROW,
    )
}

/// The job's entries in the unfinished-job index: by owner, and by who
/// started it.
fn running_entries(job: &Job) -> Vec<Entity> {
    let mut holders = vec![Holder::Conversation(&job.owner)];
    if let Some(user) = job.created_by.as_deref() {
        holders.push(Holder::User(user));
    }
    holders
        .into_iter()
        .map(|holder| {
            index::entry(
                &running_partition(holder),
                &keys::encode(job.id.as_str()),
                &job_pk(&job.id),
                ROW,
            )
        })
        .collect()
}

fn running_partition(holder: Holder<'_>) -> String {
    match holder {
        Holder::Conversation(owner) => partition("running", &owner.to_string()),
        Holder::User(user) => partition("runby", user),
    }
}
