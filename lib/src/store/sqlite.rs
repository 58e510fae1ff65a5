//! The embedded [`Store`](super::Store): one SQLite file, for the local host.
//!
//! It mirrors the DynamoDB model closely enough that the bot cannot tell
//! them apart (the same behavioural suite runs against both), while staying
//! a plain SQLite file a developer can open with `sqlite3`:
//!
//! | table | key | indexed columns | body |
//! | --- | --- | --- | --- |
//! | `conversations` | `key` (`{channelId}#{conversationId}`) | channel, user, active, last seen | [`StoredReference`] JSON |
//! | `subscriptions` | (`key`, `tag`); `''` is the general list | (`tag`, `key`) | — |
//! | `jobs` | `id`; `rowid` breaks ties of `created_at` | status, created_at | [`Job`] JSON |
//! | `deliveries` | notification id | status, updated_at | [`DeliveryRecord`] JSON |
//! | `reminders` | `id` | due time and owner, of pending ones only (partial indexes) | [`Reminder`] JSON |
//! | `idempotency` | `Idempotency-Key` | expiry | [`IdempotencyRecord`] JSON |
//! | `accepted` | notification id | — | [`AcceptedNotification`] JSON |
//! | `directory` | encoded [`DirectoryKey`] | — | [`DirectoryEntry`] JSON |
//!
//! `deliveries` also keeps a fan-out child's `parent` (indexed), and
//! `conversations` is indexed by (channel, user, key) over active rows, for
//! the webhook API (`sqlite/webhook_api.rs`).
//!
//! Counts (`count_subscribers`, `count_child_deliveries`) are `COUNT`
//! queries over these indexes rather than counters kept beside them: a
//! local index walk is cheap at the embedded host's scale, and a query
//! cannot drift from the rows it counts.
//!
//! Records are stored whole as JSON so that nothing the channel sent is
//! lost (unknown reference fields included); the columns beside the body
//! exist only to be queried. Times in columns are epoch milliseconds.
//!
//! Every method runs as one call on the adapter's single connection, off
//! the async runtime, and every call is atomic on its own (a savepoint in
//! an `IMMEDIATE` transaction: `sqlite_db`), so the methods that
//! decide on what they read ([`JobStore::transition_job`],
//! [`DeliveryStore::begin_delivery`], ...) need nothing more.

use std::path::Path;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;

use super::{
    AcceptedNotification, DeliveryClaim, DeliveryCounts, DeliveryRecord, Holder, IdempotencyClaim,
    IdempotencyRecord, Job, JobStatus, Page, Reminder, StoreError, StoredReference,
    TransitionError,
};
use super::{
    Cutoffs, DeliveryStore, DirectoryEntry, DirectoryKey, DirectoryStore, JobStore, Purged,
    RateLimitStore, ReferenceStore, ReminderStore, RetentionStore, SubscriptionStore, WebhookStore,
};
use crate::ids::{ConversationKey, JobId, NotificationId, ReminderId};
use crate::rate::{Ask, Limited, Rule};
use crate::sqlite_db::{count, decode, encode, Db, DbError, Migration};
use caps::{Live, OwnedHolder};

/// The schema, one step per version (`PRAGMA user_version`). Append new
/// steps; never edit a released one.
const SCHEMA: &[Migration] = &[
    "
    CREATE TABLE IF NOT EXISTS conversations (
        key TEXT PRIMARY KEY NOT NULL,
        channel_id TEXT NOT NULL,
        user_id TEXT,
        active INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (channel_id, user_id);

    CREATE TABLE IF NOT EXISTS subscriptions (
        key TEXT NOT NULL,
        tag TEXT NOT NULL,
        subscribed_at INTEGER NOT NULL,
        PRIMARY KEY (key, tag)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS subscriptions_by_tag ON subscriptions (tag, key);

    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (created_at);

    CREATE TABLE IF NOT EXISTS deliveries (
        id TEXT PRIMARY KEY NOT NULL,
        status TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
",
    "
    CREATE TABLE IF NOT EXISTS reminders (
        id TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        next_due INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS reminders_due ON reminders (next_due)
        WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS reminders_by_owner ON reminders (owner, next_due)
        WHERE status = 'pending';
",
    webhook_api::MIGRATION,
    rate_limits::MIGRATION,
    retention::MIGRATION,
    webhook_api::REPLAY_MIGRATION,
    caps::MIGRATION,
    retention::FINISHED_MIGRATION,
    directory::MIGRATION,
];

/// The `tag` column of a subscription to the general list.
const GENERAL: &str = "";

/// A [`Store`](super::Store) in a SQLite file.
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file, its directories and
    /// its tables as needed. Reopening a file sees everything written to it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
        })
    }

    /// A store that lives in memory and dies with this value: for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::in_memory(SCHEMA)?,
        })
    }
}

impl SqliteStore {
    /// How many of the holder's rows of one kind are live, up to `limit`.
    async fn count_live(
        &self,
        live: Live,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let holder = OwnedHolder::from(holder);
        Ok(self
            .db
            .run(move |conn| caps::count_live(conn, live, &holder, limit))
            .await?)
    }

    /// Replaces a reminder with `updated` only if its status is `status`
    /// (and, with `expected_due`, it is due then): one conditional update.
    async fn replace_reminder(
        &self,
        status: &'static str,
        expected_due: Option<Timestamp>,
        updated: &Reminder,
    ) -> Result<bool, StoreError> {
        let updated = updated.clone();
        let changed = self
            .db
            .run(move |conn| {
                let [id, owner, new_status, next_due, body, created_by] = reminder_row(&updated)?;
                Ok(conn.execute(
                    "UPDATE reminders SET owner = ?2, status = ?3, next_due = ?4, body = ?5,
                         created_by = ?6
                     WHERE id = ?1 AND status = ?7 AND (?8 IS NULL OR next_due = ?8)",
                    params![
                        id,
                        owner,
                        new_status,
                        next_due,
                        body,
                        created_by,
                        status,
                        expected_due.map(Timestamp::as_millisecond)
                    ],
                )?)
            })
            .await?;
        Ok(changed > 0)
    }
}

impl From<DbError> for StoreError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Corrupt(why) => StoreError::Corrupt(why),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

#[async_trait]
impl ReferenceStore for SqliteStore {
    async fn save_reference(&self, reference: &StoredReference) -> Result<(), StoreError> {
        let reference = reference.clone();
        Ok(self
            .db
            .run(move |conn| write_reference(conn, &reference))
            .await?)
    }

    async fn get_reference(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredReference>, StoreError> {
        let key = key.to_string();
        Ok(self.db.run(move |conn| read_reference(conn, &key)).await?)
    }

    async fn deactivate_reference(
        &self,
        key: &ConversationKey,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (key, reason) = (key.to_string(), reason.to_owned());
        Ok(self
            .db
            .run(move |conn| {
                if let Some(mut reference) = read_reference(conn, &key)? {
                    reference.deactivate(&reason);
                    write_reference(conn, &reference)?;
                }
                Ok(())
            })
            .await?)
    }

    async fn list_references(
        &self,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<StoredReference>, StoreError> {
        let after = cursor(after);
        Ok(self
            .db
            .run(move |conn| {
                let bodies: Vec<String> = query_column(
                    conn,
                    "SELECT body FROM conversations WHERE key > ?1 ORDER BY key LIMIT ?2",
                    params![after, probe(limit)],
                )?;
                let references = bodies
                    .iter()
                    .map(|body| decode(body))
                    .collect::<Result<Vec<StoredReference>, _>>()?;
                Ok(Page::from_probe(references, limit, |r| r.key.clone()))
            })
            .await?)
    }

    async fn user_conversations(
        &self,
        channel_id: &str,
        user_id: &str,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        let (channel, user, after) = (channel_id.to_owned(), user_id.to_owned(), after.cloned());
        Ok(self
            .db
            .run(move |conn| {
                webhook_api::user_conversations(conn, &channel, &user, after.as_ref(), limit)
            })
            .await?)
    }
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn put_directory_entries(&self, entries: &[DirectoryEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries.to_vec();
        Ok(self
            .db
            .run(move |conn| entries.iter().try_for_each(|e| directory::put(conn, e)))
            .await?)
    }

    async fn get_directory_entry(
        &self,
        key: &DirectoryKey,
    ) -> Result<Option<DirectoryEntry>, StoreError> {
        let key = key.clone();
        Ok(self.db.run(move |conn| directory::get(conn, &key)).await?)
    }
}

#[async_trait]
impl SubscriptionStore for SqliteStore {
    async fn subscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (key, tag) = (key.to_string(), tag_column(tag));
        let added = self
            .db
            .run(move |conn| {
                Ok(conn.execute(
                    "INSERT INTO subscriptions (key, tag, subscribed_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key, tag) DO NOTHING",
                    params![key, tag, at.as_millisecond()],
                )?)
            })
            .await?;
        Ok(added > 0)
    }

    async fn unsubscribe(
        &self,
        key: &ConversationKey,
        tag: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (key, tag) = (key.to_string(), tag.map(str::to_owned));
        let removed = self
            .db
            .run(move |conn| {
                Ok(match tag {
                    Some(tag) => conn.execute(
                        "DELETE FROM subscriptions WHERE key = ?1 AND tag = ?2",
                        params![key, tag],
                    )?,
                    None => conn.execute("DELETE FROM subscriptions WHERE key = ?1", [key])?,
                })
            })
            .await?;
        Ok(removed > 0)
    }

    async fn subscribers(
        &self,
        tag: Option<&str>,
        after: Option<&ConversationKey>,
        limit: usize,
    ) -> Result<Page<ConversationKey>, StoreError> {
        let (tag, after) = (tag.map(str::to_owned), cursor(after));
        Ok(self
            .db
            .run(move |conn| {
                let keys: Vec<String> = match tag {
                    Some(tag) => query_column(
                        conn,
                        "SELECT key FROM subscriptions WHERE tag = ?3 AND key > ?1
                         ORDER BY key LIMIT ?2",
                        params![after, probe(limit), tag],
                    )?,
                    None => query_column(
                        conn,
                        "SELECT DISTINCT key FROM subscriptions WHERE key > ?1
                         ORDER BY key LIMIT ?2",
                        params![after, probe(limit)],
                    )?,
                };
                let keys = keys
                    .iter()
                    .map(|key| parse_key(key))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_probe(keys, limit, ConversationKey::clone))
            })
            .await?)
    }

    async fn count_subscribers(&self, tag: Option<&str>) -> Result<u64, StoreError> {
        let tag = tag.map(str::to_owned);
        let n: i64 = self
            .db
            .run(move |conn| {
                Ok(match tag {
                    Some(tag) => conn.query_row(
                        "SELECT COUNT(*) FROM subscriptions WHERE tag = ?1",
                        [tag],
                        |row| row.get(0),
                    )?,
                    None => conn.query_row(
                        "SELECT COUNT(DISTINCT key) FROM subscriptions",
                        [],
                        |row| row.get(0),
                    )?,
                })
            })
            .await?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
    }

    async fn count_subscriptions(&self, key: &ConversationKey) -> Result<u64, StoreError> {
        let key = key.to_string();
        let n: i64 = self
            .db
            .run(move |conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM subscriptions WHERE key = ?1",
                    [key],
                    |row| row.get(0),
                )?)
            })
            .await?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_job(&self, job: &Job) -> Result<(), StoreError> {
        let job = job.clone();
        let inserted = self
            .db
            .run(move |conn| {
                Ok(conn.execute(
                    "INSERT INTO jobs (id, status, created_at, body, owner, log, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        job.id.as_str(),
                        job.status.to_string(),
                        job.created_at.as_millisecond(),
                        encode(&job)?,
                        job.owner.to_string(),
                        job.log,
                        job.created_by,
                    ],
                )?)
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let id = id.to_string();
        Ok(self.db.run(move |conn| read_job(conn, &id)).await?)
    }

    async fn list_jobs(&self, log: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
        let log = log.to_owned();
        Ok(self
            .db
            .run(move |conn| caps::list_jobs(conn, &log, limit))
            .await?)
    }

    async fn count_running_jobs(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.count_live(Live::UnfinishedJobs, holder, limit).await
    }

    async fn transition_job(
        &self,
        id: &JobId,
        from: &[JobStatus],
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job, TransitionError> {
        let (id, from) = (id.to_string(), from.to_vec());
        self.db
            .run(move |conn| {
                let Some(mut job) = read_job(conn, &id)? else {
                    return Ok(Err(TransitionError::NotFound));
                };
                if !job.transition(&from, to, at) {
                    return Ok(Err(TransitionError::WrongState(job)));
                }
                conn.execute(
                    "UPDATE jobs SET status = ?2, body = ?3, finished_at = ?4 WHERE id = ?1",
                    params![
                        id,
                        job.status.to_string(),
                        encode(&job)?,
                        job.completed_at.map(|at| at.as_millisecond())
                    ],
                )?;
                Ok(Ok(job))
            })
            .await
            .map_err(StoreError::from)?
    }
}

#[async_trait]
impl ReminderStore for SqliteStore {
    async fn insert_reminder(&self, reminder: &Reminder) -> Result<(), StoreError> {
        let reminder = reminder.clone();
        let inserted = self
            .db
            .run(move |conn| {
                Ok(conn.execute(
                    "INSERT INTO reminders (id, owner, status, next_due, body, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    reminder_row(&reminder)?,
                )?)
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn get_reminder(&self, id: &ReminderId) -> Result<Option<Reminder>, StoreError> {
        let id = id.to_string();
        Ok(self
            .db
            .run(move |conn| read_body(conn, "SELECT body FROM reminders WHERE id = ?1", &id))
            .await?)
    }

    async fn list_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        let owner = owner.to_string();
        Ok(self
            .db
            .run(move |conn| {
                read_reminders(
                    conn,
                    "SELECT body FROM reminders WHERE owner = ?1 AND status = 'pending'
                     ORDER BY next_due, id LIMIT ?2",
                    &owner,
                    limit,
                )
            })
            .await?)
    }

    async fn count_pending_reminders(
        &self,
        holder: Holder<'_>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.count_live(Live::PendingReminders, holder, limit).await
    }

    async fn parked_reminders(
        &self,
        owner: &ConversationKey,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        let owner = owner.to_string();
        Ok(self
            .db
            .run(move |conn| caps::parked_reminders(conn, &owner, limit))
            .await?)
    }

    async fn resume_reminder(&self, updated: &Reminder) -> Result<bool, StoreError> {
        self.replace_reminder("parked", None, updated).await
    }

    async fn due_reminders(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        Ok(self
            .db
            .run(move |conn| {
                let bodies: Vec<String> = query_column(
                    conn,
                    DUE_REMINDERS,
                    params![now.as_millisecond(), count(limit)],
                )?;
                bodies.iter().map(|body| decode(body)).collect()
            })
            .await?)
    }

    async fn advance_reminder(
        &self,
        expected_due: Timestamp,
        updated: &Reminder,
    ) -> Result<bool, StoreError> {
        self.replace_reminder("pending", Some(expected_due), updated)
            .await
    }
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn begin_delivery(
        &self,
        id: &NotificationId,
        conversation: Option<&ConversationKey>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<DeliveryClaim, StoreError> {
        let (id, conversation) = (id.clone(), conversation.cloned());
        Ok(self
            .db
            .run(move |conn| {
                let existing = read_delivery(conn, id.as_str())?;
                let claim = DeliveryClaim::decide(existing, &id, conversation, now, lease_until);
                if let DeliveryClaim::Proceed(record) = &claim {
                    write_delivery(conn, record)?;
                }
                Ok(claim)
            })
            .await?)
    }

    async fn put_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        let record = record.clone();
        Ok(self
            .db
            .run(move |conn| write_delivery(conn, &record))
            .await?)
    }

    async fn get_delivery(
        &self,
        id: &NotificationId,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let id = id.to_string();
        Ok(self.db.run(move |conn| read_delivery(conn, &id)).await?)
    }

    async fn child_deliveries(
        &self,
        parent: &NotificationId,
        after: Option<&NotificationId>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord, NotificationId>, StoreError> {
        let (parent, after) = (parent.clone(), after.cloned());
        Ok(self
            .db
            .run(move |conn| webhook_api::child_deliveries(conn, &parent, after.as_ref(), limit))
            .await?)
    }

    async fn count_child_deliveries(
        &self,
        parent: &NotificationId,
    ) -> Result<DeliveryCounts, StoreError> {
        let parent = parent.clone();
        Ok(self
            .db
            .run(move |conn| webhook_api::count_child_deliveries(conn, &parent))
            .await?)
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn claim_idempotency_key(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError> {
        let record = record.clone();
        Ok(self
            .db
            .run(move |conn| webhook_api::claim_idempotency(conn, &record, now))
            .await?)
    }

    async fn put_idempotency_record(&self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        let record = record.clone();
        Ok(self
            .db
            .run(move |conn| webhook_api::put_idempotency(conn, &record))
            .await?)
    }

    async fn remember_signature(
        &self,
        digest: &str,
        idempotency_key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let (digest, key) = (digest.to_owned(), idempotency_key.to_owned());
        Ok(self
            .db
            .run(move |conn| webhook_api::remember_signature(conn, &digest, &key, expires_at, now))
            .await?)
    }

    async fn save_accepted(&self, accepted: &AcceptedNotification) -> Result<(), StoreError> {
        let accepted = accepted.clone();
        Ok(self
            .db
            .run(move |conn| webhook_api::save_accepted(conn, &accepted))
            .await?)
    }

    async fn get_accepted(
        &self,
        id: &NotificationId,
    ) -> Result<Option<AcceptedNotification>, StoreError> {
        let id = id.clone();
        Ok(self
            .db
            .run(move |conn| webhook_api::get_accepted(conn, &id))
            .await?)
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn reserve_send(
        &self,
        limited: &Limited,
        rule: &Rule,
        ask: &Ask,
    ) -> Result<Option<Timestamp>, StoreError> {
        let (limited, rule, ask) = (limited.clone(), rule.clone(), *ask);
        Ok(self
            .db
            .run(move |conn| rate_limits::reserve(conn, &limited, &rule, &ask))
            .await?)
    }
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn purge_expired(&self, cutoffs: &Cutoffs, limit: usize) -> Result<Purged, StoreError> {
        let cutoffs = *cutoffs;
        Ok(self
            .db
            .run(move |conn| retention::purge_expired(conn, &cutoffs, limit))
            .await?)
    }
}

/// The SQL form of a pagination cursor: listings start after it, and every
/// key sorts after `''`.
fn cursor(after: Option<&ConversationKey>) -> String {
    after.map(ToString::to_string).unwrap_or_default()
}

/// The row limit of a page query: one more than the page, to learn whether
/// another page follows ([`Page::from_probe`]).
fn probe(limit: usize) -> i64 {
    count(limit.saturating_add(1))
}

fn tag_column(tag: Option<&str>) -> String {
    tag.unwrap_or(GENERAL).to_owned()
}

fn parse_key(key: &str) -> Result<ConversationKey, DbError> {
    key.parse()
        .map_err(|e| DbError::Corrupt(format!("stored conversation key {key:?}: {e}")))
}

/// Runs a query whose rows are one column.
fn query_column<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Loads and decodes the JSON body of the one row `sql` selects by `key`.
fn read_body<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    key: &str,
) -> Result<Option<T>, DbError> {
    let body: Option<String> = conn
        .prepare_cached(sql)?
        .query_row([key], |row| row.get(0))
        .optional()?;
    body.as_deref().map(decode).transpose()
}

fn read_reference(conn: &Connection, key: &str) -> Result<Option<StoredReference>, DbError> {
    read_body(conn, "SELECT body FROM conversations WHERE key = ?1", key)
}

fn read_job(conn: &Connection, id: &str) -> Result<Option<Job>, DbError> {
    read_body(conn, "SELECT body FROM jobs WHERE id = ?1", id)
}

fn read_delivery(conn: &Connection, id: &str) -> Result<Option<DeliveryRecord>, DbError> {
    read_body(conn, "SELECT body FROM deliveries WHERE id = ?1", id)
}

/// Inserts or replaces a reference; its subscriptions live in another
/// table and are untouched.
fn write_reference(conn: &Connection, reference: &StoredReference) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO conversations (key, channel_id, user_id, active, last_seen, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key) DO UPDATE SET
             channel_id = excluded.channel_id, user_id = excluded.user_id,
             active = excluded.active, last_seen = excluded.last_seen, body = excluded.body",
        params![
            reference.key.to_string(),
            reference.key.channel_id(),
            reference.user_id(),
            reference.active,
            reference.last_seen.as_millisecond(),
            encode(reference)?
        ],
    )?;
    Ok(())
}

/// Pending reminders due by `?1`, soonest first: answered from the partial
/// index `reminders_due`, so only due rows are read.
pub(crate) const DUE_REMINDERS: &str = "SELECT body FROM reminders
     WHERE status = 'pending' AND next_due <= ?1 ORDER BY next_due LIMIT ?2";

/// The columns of a reminder row, in table order.
fn reminder_row(reminder: &Reminder) -> Result<[rusqlite::types::Value; 6], DbError> {
    use rusqlite::types::Value;
    Ok([
        Value::Text(reminder.id.to_string()),
        Value::Text(reminder.owner.to_string()),
        Value::Text(reminder.status.to_string()),
        Value::Integer(reminder.next_due.as_millisecond()),
        Value::Text(encode(reminder)?),
        reminder.created_by.clone().map_or(Value::Null, Value::Text),
    ])
}

/// The reminders a query for one owner or holder (`?1`) finds, at most
/// `limit` (`?2`).
fn read_reminders(
    conn: &Connection,
    query: &str,
    holder: &str,
    limit: usize,
) -> Result<Vec<Reminder>, DbError> {
    let bodies: Vec<String> = query_column(conn, query, params![holder, count(limit)])?;
    bodies.iter().map(|body| decode(body)).collect()
}

fn write_delivery(conn: &Connection, record: &DeliveryRecord) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO deliveries (id, status, updated_at, body, parent) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET
             status = excluded.status, updated_at = excluded.updated_at, body = excluded.body",
    )?
    .execute(params![
        record.notification_id.as_str(),
        record.status.to_string(),
        record.updated_at.as_millisecond(),
        encode(record)?,
        record.notification_id.parent().map(|p| p.to_string())
    ])?;
    Ok(())
}

mod caps;
mod directory;
mod rate_limits;
mod retention;
mod webhook_api;

#[cfg(test)]
mod due_index_tests;

#[cfg(test)]
mod tests {
    use super::*;
    #[tokio::test]
    async fn undecodable_bodies_are_reported_as_corrupt() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .db
            .run(|conn| {
                conn.execute(
                    "INSERT INTO jobs (id, status, created_at, body) VALUES ('abcdefgh', 'x', 0, '{')",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let id: JobId = "abcdefgh".parse().unwrap();
        assert!(matches!(
            store.get_job(&id).await,
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            store.list_jobs("", 10).await,
            Err(StoreError::Corrupt(_))
        ));
    }

    #[tokio::test]
    async fn jobs_created_at_the_same_time_list_newest_insert_first() {
        let store = SqliteStore::in_memory().unwrap();
        let owner: ConversationKey = "test#c".parse().unwrap();
        let ids: Vec<JobId> = ["aaaaaaaa", "bbbbbbbb", "cccccccc"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for id in [&ids[1], &ids[0], &ids[2]] {
            let job = Job {
                id: id.clone(),
                owner: owner.clone(),
                status: JobStatus::Running,
                created_at: Timestamp::from_second(1_700_000_000).unwrap(),
                completed_at: None,
                tenant: None,
                log: "tenant:".into(),
                created_by: None,
            };
            store.insert_job(&job).await.unwrap();
        }
        let listed: Vec<JobId> = store
            .list_jobs("tenant:", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(listed, [ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    }
}
