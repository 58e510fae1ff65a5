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
        let (entries, forms): (Vec<_>, Vec<_>) = {
            let noted = self.0.lock().expect("noted");
            reach::tenant_entry(stored, now)
                .into_iter()
                .chain(reach::member_entries(stored, now))
                .map(|entry| {
                    let form = form(&entry);
                    (entry, form)
                })
                .filter(|(_, form)| !noted.contains(form))
                .unzip()
        };
        if entries.is_empty() {
            return Ok(());
        }
        // One call for the turn's entries: each call waits for a commit.
        store.put_directory_entries(&entries).await?;
        let mut noted = self.0.lock().expect("noted");
        if noted.len() + forms.len() > NOTED {
            noted.clear();
        }
        noted.extend(forms);
        Ok(())
    }
}

/// The entry without its time: what would change if it were rewritten.
fn form(entry: &DirectoryEntry) -> String {
    let mut form = entry.clone();
    match &mut form {
        DirectoryEntry::Tenant(t) => t.seen = Timestamp::UNIX_EPOCH,
        DirectoryEntry::Member(m) => m.seen = Timestamp::UNIX_EPOCH,
    }
    serde_json::to_string(&form).unwrap_or_default()
}
