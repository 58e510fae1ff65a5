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
//! leaves an entry readers skip (and the running index's reader deletes),
//! never a job a listing misses.

use futures::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;

use super::keys::{self, partition, sortable_millis};
use super::record::{backend, body, read_modify_write, with_body, Decision};
use super::rest::{Condition, Entity, TableClient};
use crate::ids::JobId;
use crate::store::{Holder, Job, JobStatus, StoreError, TransitionError};

const ROW: &str = "r";
/// Reads of jobs an index names, at once.
const READS_IN_FLIGHT: usize = 16;

pub async fn insert(table: &TableClient, job: &Job) -> Result<(), StoreError> {
    let entries = std::iter::once(log_entry(job)).chain(running_entries(job));
    for entry in entries {
        table
            .replace(&entry, Condition::None)
            .await
            .map_err(backend)?;
    }
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
    let filter = format!(
        "PartitionKey eq {}",
        keys::literal(&partition("joblog", log))
    );
    let mut jobs = Vec::new();
    let mut from = None;
    while jobs.len() < limit {
        let page = table
            .query(&filter, limit - jobs.len() + 1, from.as_ref())
            .await
            .map_err(backend)?;
        for (entry, job) in with_jobs(table, page.entities).await? {
            if let Some(job) = job.filter(|job| job.log == log && log_row(job) == entry.row_key) {
                jobs.push(job);
            }
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    jobs.truncate(limit);
    Ok(jobs)
}

/// How many of the holder's jobs are unfinished, up to `limit`; entries
/// whose job has finished (a crash before their removal) are removed.
pub async fn count_running(
    table: &TableClient,
    holder: Holder<'_>,
    limit: usize,
) -> Result<usize, StoreError> {
    let filter = format!(
        "PartitionKey eq {}",
        keys::literal(&running_partition(holder))
    );
    let entries = table
        .query_all(&filter, limit.saturating_mul(2).max(limit))
        .await
        .map_err(backend)?;
    let mut running = 0;
    for (entry, job) in with_jobs(table, entries).await? {
        if job.is_some_and(|job| job.status != JobStatus::Complete) {
            running += 1;
        } else {
            table
                .delete(&entry.partition_key, &entry.row_key, Condition::None)
                .await
                .map_err(backend)?;
        }
        if running >= limit {
            break;
        }
    }
    Ok(running)
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
        for entry in running_entries(&moved) {
            table
                .delete(&entry.partition_key, &entry.row_key, Condition::None)
                .await
                .map_err(backend)?;
        }
    }
    Ok(moved)
}

/// Index entries paired with the job each names (`None`: no such job).
async fn with_jobs(
    table: &TableClient,
    entries: Vec<Entity>,
) -> Result<Vec<(Entity, Option<Job>)>, StoreError> {
    stream::iter(entries)
        .map(|entry| async move {
            let id = entry.text("job").unwrap_or_default().to_owned();
            let job = match id.parse::<JobId>() {
                Ok(id) => get(table, &id).await?,
                Err(_) => None,
            };
            Ok::<_, StoreError>((entry, job))
        })
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await
}

fn job_pk(id: &JobId) -> String {
    partition("job", id.as_str())
}

fn log_row(job: &Job) -> String {
    format!("{}-{}", sortable_millis(job.created_at, true), job.id)
}

fn log_entry(job: &Job) -> Entity {
    Entity::new(partition("joblog", &job.log), log_row(job)).with("job", job.id.as_str())
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
            Entity::new(running_partition(holder), keys::encode(job.id.as_str()))
                .with("job", job.id.as_str())
        })
        .collect()
}

fn running_partition(holder: Holder<'_>) -> String {
    match holder {
        Holder::Conversation(owner) => partition("running", &owner.to_string()),
        Holder::User(user) => partition("runby", user),
    }
}
