//! Retention, since Table Storage has no TTL: what the maintenance tick's
//! purge deletes, found without reading the table.
//!
//! Each kind of record that expires has an expiry index, one partition
//! (`expiry:{kind}`), with an entry per record whose row key starts with
//! the record's reference time: when a delivery record was created, a job
//! created, a notification accepted, an idempotency key or signature
//! expires. The entry is written with the record (before it, as every
//! index entry). A purge reads each index up to its cutoff, oldest first:
//! a record past its retention is deleted with its entry; one that is not
//! yet (a delivery updated since, a job finished later or still running)
//! has its entry moved to the time to look again. So a purge reads what
//! has expired and little else.

use jiff::Timestamp;

use super::index;
use super::keys::{self, sortable_millis};
use super::record::{backend, body};
use super::rest::{Condition, Entity, TableClient, TableError};
use crate::store::{Cutoffs, DeliveryRecord, Job, JobStatus, Purged, StoreError};

/// What expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Delivery,
    Job,
    Accepted,
    /// Idempotency keys and remembered signatures (their `expiresAt`).
    Key,
}

impl Kind {
    fn partition(self) -> &'static str {
        match self {
            Kind::Delivery => "expiry:delivery",
            Kind::Job => "expiry:job",
            Kind::Accepted => "expiry:accepted",
            Kind::Key => "expiry:key",
        }
    }
}

/// The expiry entry of the record at (`pk`, `rk`), to look at after `at`.
pub fn entry(kind: Kind, at: Timestamp, pk: &str, rk: &str) -> Entity {
    let row = format!(
        "{}!{}!{}",
        sortable_millis(at, false),
        keys::encode(pk),
        keys::encode(rk)
    );
    index::entry(kind.partition(), &row, pk, rk)
}

/// What one look at an expired entry's record decided.
enum Verdict {
    /// Past its retention: delete it (and these index entries with it).
    Delete(Vec<Entity>),
    /// Not yet: look again after this time.
    Later(Timestamp),
}

pub async fn purge(
    table: &TableClient,
    cutoffs: &Cutoffs,
    limit: usize,
) -> Result<Purged, StoreError> {
    Ok(Purged {
        deliveries: purge_kind(table, Kind::Delivery, cutoffs.deliveries, limit, |record| {
            let delivery: DeliveryRecord = body(record)?;
            Ok(if delivery.updated_at < cutoffs.deliveries {
                Verdict::Delete(Vec::new())
            } else {
                Verdict::Later(delivery.updated_at)
            })
        })
        .await?,
        finished_jobs: purge_kind(table, Kind::Job, cutoffs.finished_jobs, limit, |record| {
            let job: Job = body(record)?;
            Ok(match job.completed_at {
                Some(done) if job.status == JobStatus::Complete && done < cutoffs.finished_jobs => {
                    Verdict::Delete(super::jobs::entries_of(&job))
                }
                Some(done) if job.status == JobStatus::Complete => Verdict::Later(done),
                // Running jobs stay, however old: look again a retention on.
                _ => Verdict::Later(cutoffs.now),
            })
        })
        .await?,
        accepted: purge_kind(table, Kind::Accepted, cutoffs.accepted, limit, |_| {
            // Its entry is at the time it was accepted, which never moves.
            Ok(Verdict::Delete(Vec::new()))
        })
        .await?,
        expired_keys: purge_kind(table, Kind::Key, cutoffs.now, limit, |record| {
            let expires = record
                .i64(super::webhook_api::EXPIRES_AT)
                .and_then(|s| Timestamp::from_second(s).ok())
                .unwrap_or(Timestamp::MAX);
            Ok(if expires < cutoffs.now {
                Verdict::Delete(Vec::new())
            } else {
                Verdict::Later(expires)
            })
        })
        .await?,
    })
}

/// Looks at `kind`'s entries before `cutoff`, oldest first, until `limit`
/// records are deleted or none is left; returns how many were.
async fn purge_kind(
    table: &TableClient,
    kind: Kind,
    cutoff: Timestamp,
    limit: usize,
    judge: impl Fn(&Entity) -> Result<Verdict, StoreError>,
) -> Result<usize, StoreError> {
    let filter = format!(
        "PartitionKey eq {} and RowKey lt {}",
        keys::literal(kind.partition()),
        keys::literal(&sortable_millis(cutoff, false))
    );
    let mut deleted = 0;
    while deleted < limit {
        // Each pass moves or deletes the entries it reads, so the next
        // reads past them; a pass that can do neither (records changing
        // under it) ends this purge, and the next tick looks again.
        let page = table
            .query(&filter, limit - deleted, None)
            .await
            .map_err(backend)?;
        let mut progress = false;
        for entry in page.entities {
            let (pk, rk) = index::target(&entry);
            let record = table.get(pk, rk).await.map_err(backend)?;
            let verdict = match &record {
                None => Verdict::Delete(Vec::new()),
                Some(record) => judge(record)?,
            };
            match verdict {
                Verdict::Delete(also) => {
                    if let Some(record) = &record {
                        if !delete_record(table, record).await? {
                            continue;
                        }
                        deleted += 1;
                    }
                    index::remove(table, &also).await?;
                }
                Verdict::Later(at) => {
                    index::put(table, &[entry_for(kind, at, &entry)]).await?;
                }
            }
            index::remove(table, &[entry]).await?;
            progress = true;
        }
        if !progress {
            break;
        }
    }
    Ok(deleted)
}

fn entry_for(kind: Kind, at: Timestamp, old: &Entity) -> Entity {
    let (pk, rk) = index::target(old);
    entry(kind, at, pk, rk)
}

/// Deletes a record as read; `false` if it changed meanwhile. A fan-out
/// child's leaves its shard's counter in the same transaction.
async fn delete_record(table: &TableClient, record: &Entity) -> Result<bool, StoreError> {
    if super::deliveries::is_child(record) {
        return super::deliveries::delete_child(table, record).await;
    }
    let condition = record
        .etag
        .as_deref()
        .map_or(Condition::Exists, Condition::Matches);
    match table
        .delete(&record.partition_key, &record.row_key, condition)
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::Changed) => Ok(false),
        Err(other) => Err(backend(other)),
    }
}
