//! The directory ([`crate::store::DirectoryStore`]) in SQLite: one table of
//! entries by their encoded key, the entry's JSON beside it.

use rusqlite::{params, Connection};

use crate::sqlite_db::{encode, DbError};
use crate::store::{DirectoryEntry, DirectoryKey};

pub(super) const MIGRATION: &str = "
    CREATE TABLE IF NOT EXISTS directory (
        key TEXT PRIMARY KEY NOT NULL,
        body TEXT NOT NULL
    ) WITHOUT ROWID;
";

pub(super) fn put(conn: &Connection, entry: &DirectoryEntry) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO directory (key, body) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET body = excluded.body",
    )?
    .execute(params![entry.key().encoded(), encode(entry)?])?;
    Ok(())
}

pub(super) fn get(
    conn: &Connection,
    key: &DirectoryKey,
) -> Result<Option<DirectoryEntry>, DbError> {
    super::read_body(
        conn,
        "SELECT body FROM directory WHERE key = ?1",
        &key.encoded(),
    )
}
