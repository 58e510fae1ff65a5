//! The Azure Table Storage store (issue 14, under way).
//!
//! Built so far: the foundation every part will stand on, tested on
//! Azurite: [`keys`] (any text as a legal key), [`rest`] (entities with
//! ETag-conditional writes, queries with continuation, signed by
//! [`crate::azure_storage::Credential`]) and [`batch`] (entity group
//! transactions).
//!
//! The data model the parts will follow (DynamoDB's single-table layout,
//! adapted to a service with no secondary indexes and transactions only
//! within one partition):
//! - a conversation's reference, its subscriptions and its subscription
//!   count share partition `CONV~{key}`, so they change in one transaction;
//! - every listing and index (all references, a tag's subscribers, a job
//!   log, a reminder owner's list, a user's conversations, a fan-out's
//!   children) is a set of index entities in partitions of their own,
//!   sharded; an index entity is written before the record it points to
//!   and removed after it, and a reader keeps only entries whose record
//!   agrees, so a crash between the two leaves an entry readers skip and
//!   retention removes, never a record a listing misses;
//! - due reminders sit in minute-bucket partitions (`DUE~{minute}`), so a
//!   tick reads the buckets up to now: O(due);
//! - counters and rate-limit state are one entity each, changed with
//!   `If-Match` on the ETag read (optimistic concurrency), counters
//!   sharded where many writers meet;
//! - retention is the shared maintenance tick's (Table Storage has no TTL).

pub mod batch;
pub mod keys;
pub mod rest;
