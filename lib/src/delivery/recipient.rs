//! Where a notification goes: the stored reference of its conversation, or
//! the reference it carries itself (a proactive template message, see
//! [`crate::notification::Notification::from_queue_body`]).
//!
//! A carried reference is treated as an active conversation whose service
//! URL nobody vouched for, so the Connector client's trust policy calls it
//! only on an allow-listed host.

use crate::ids::ConversationKey;
use crate::notification::{Notification, Target};
use crate::service_url::Provenance;
use crate::store::{StoreError, StoredReference};

use super::Notifier;

impl Notifier {
    pub(super) async fn recipient(
        &self,
        notification: &Notification,
        key: &ConversationKey,
    ) -> Result<Option<StoredReference>, StoreError> {
        match &notification.target {
            Target::Reference { reference } => Ok(Some(StoredReference {
                key: key.clone(),
                reference: reference.as_ref().clone(),
                active: true,
                inactive_reason: None,
                last_seen: self.clock.now(),
                provenance: Provenance::Unverified,
                team_channel: None,
            })),
            _ => self.store.get_reference(key).await,
        }
    }
}
