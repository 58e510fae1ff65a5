//! Broadcasts, expanded page by page.
//!
//! A broadcast enters the queue as one message whatever its audience. Each
//! time the notifier takes it, it reads one page of subscribers, enqueues one
//! notification per conversation and, if there is more, the same broadcast
//! with a cursor after the page. Child ids are derived from the broadcast id
//! and the conversation, so a page expanded twice (a crash between enqueue
//! and delete) yields the same ids, and the delivery records drop the
//! doubles: nothing is skipped, nothing is sent twice.

use crate::ids::ConversationKey;
use crate::notification::{enqueue, Notification, Target};

use super::{DeliveryError, Disposition, Notifier};

impl Notifier {
    pub(super) async fn expand(
        &self,
        broadcast: &Notification,
        tag: Option<&str>,
        after: Option<&ConversationKey>,
    ) -> Result<Disposition, DeliveryError> {
        let page = self
            .store
            .subscribers(tag, after, self.settings.fanout_page)
            .await?;
        let mut batch: Vec<Notification> = page
            .items
            .iter()
            .map(|key| Notification {
                id: broadcast.id.child(&key.to_string()),
                target: Target::Conversation { key: key.clone() },
                activity: broadcast.activity.clone(),
                reason: broadcast.reason.clone(),
                not_before: None,
            })
            .collect();
        let recipients = batch.len();
        if let Some(next) = page.next {
            batch.push(Notification {
                target: Target::Subscribers {
                    tag: tag.map(str::to_owned),
                    after: Some(next),
                },
                ..broadcast.clone()
            });
        }
        enqueue(self.queue.as_ref(), &batch).await?;
        tracing::info!(
            recipients,
            more = batch.len() > recipients,
            "broadcast page expanded"
        );
        Ok(Disposition::Done)
    }
}
