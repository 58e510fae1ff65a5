//! The bot's part in reaching Teams users who never wrote (`crate::reach`):
//! each stored Teams conversation notes its tenant in the directory, and
//! each 1:1 conversation its user.
//!
//! A turn would otherwise write these entries every time; the bot
//! remembers in memory what it has written in this process (up to
//! [`NOTED`] entries, then it starts over), so a tenant costs one write
//! per process, and a user one per process that hears from them, which
//! also brings conversations stored before the directory existed into it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::reach;
use crate::store::{DirectoryEntry, DirectoryStore, StoreError, StoredReference};

/// Entries remembered as written, at most.
const NOTED: usize = 4096;

/// What this process has written to the directory.
#[derive(Default, Clone)]
pub(super) struct Noted(Arc<Mutex<HashSet<String>>>);

impl Noted {
    /// Writes the directory entries `stored` gives that this process has
    /// not written yet in the same form.
    pub(super) async fn note(
        &self,
        store: &dyn DirectoryStore,
        stored: &StoredReference,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let entries = reach::tenant_entry(stored, now)
            .into_iter()
            .chain(reach::member_entries(stored, now));
        for entry in entries {
            // The entry without its time: what would change if rewritten.
            let mut form = entry.clone();
            match &mut form {
                DirectoryEntry::Tenant(t) => t.seen = Timestamp::UNIX_EPOCH,
                DirectoryEntry::Member(m) => m.seen = Timestamp::UNIX_EPOCH,
            }
            let form = serde_json::to_string(&form).unwrap_or_default();
            if self.0.lock().expect("noted").contains(&form) {
                continue;
            }
            store.put_directory_entry(&entry).await?;
            let mut noted = self.0.lock().expect("noted");
            if noted.len() >= NOTED {
                noted.clear();
            }
            noted.insert(form);
        }
        Ok(())
    }
}
