//! Broadcasts and user targets, expanded page by page.
//!
//! A notification to many conversations (every subscriber, a tag's
//! subscribers, every active conversation of a user) enters the queue as
//! one message whatever its audience, so the request that made it does a
//! constant amount of work. Each time the notifier takes it, it reads one
//! page of the audience, enqueues one notification per conversation and,
//! if there is more, the same notification with a cursor after the page,
//! all in one batched enqueue. Child ids are derived from the parent id and
//! the conversation ([`NotificationId::child`]), so a page expanded twice
//! (a crash between enqueue and delete) yields the same ids, and the
//! delivery records drop the doubles: nothing is skipped, nothing is sent
//! twice.
//!
//! [`NotificationId::child`]: crate::ids::NotificationId::child

use crate::notification::{enqueue, Notification, Target};

use super::{DeliveryError, Disposition, Notifier};

impl Notifier {
    pub(super) async fn expand(&self, parent: &Notification) -> Result<Disposition, DeliveryError> {
        let limit = self.settings.fanout_page;
        let page = match &parent.target {
            Target::Subscribers { tag, after } => {
                self.store
                    .subscribers(tag.as_deref(), after.as_ref(), limit)
                    .await?
            }
            Target::User {
                channel_id,
                user_id,
                after,
            } => {
                self.store
                    .user_conversations(channel_id, user_id, after.as_ref(), limit)
                    .await?
            }
            Target::Conversation { .. } | Target::Reference { .. } => return Ok(Disposition::Done),
        };
        let mut batch: Vec<Notification> = page
            .items
            .iter()
            .map(|key| Notification {
                id: parent.id.child(&key.to_string()),
                target: Target::Conversation { key: key.clone() },
                activity: parent.activity.clone(),
                reason: parent.reason.clone(),
                not_before: None,
            })
            .collect();
        let recipients = batch.len();
        if let Some(next) = page.next {
            batch.push(Notification {
                target: parent.target.after(next),
                ..parent.clone()
            });
        }
        enqueue(self.queue.as_ref(), &batch).await?;
        tracing::info!(
            recipients,
            more = batch.len() > recipients,
            "fan-out page expanded"
        );
        Ok(Disposition::Done)
    }
}
