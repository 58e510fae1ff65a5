//! Broadcasts and user targets, expanded page by page.
//!
//! A notification to many conversations (every subscriber, a tag's
//! subscribers, every active conversation of a user, a list of Teams
//! users) enters the queue as
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
//! An edit or a recall (`PATCH` and `DELETE /api/notifications/{id}`) is
//! expanded the same way, over the earlier notification's delivery
//! records: one child per conversation it was sent to, carrying the
//! channel's activity id to change.
//!
//! [`NotificationId::child`]: crate::ids::NotificationId::child

use crate::ids::NotificationId;
use crate::notification::{enqueue, Edit, Notification, Operation, Target};
use crate::store::{DeliveryStatus, Page};

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
            Target::Delivered { of, edit, after } => {
                return self.expand_edit(parent, of, *edit, after.as_ref()).await
            }
            Target::Members {
                tenant_id,
                member_ids,
            } => return self.expand_members(parent, tenant_id, member_ids).await,
            Target::Conversation { .. } | Target::Reference { .. } | Target::Member { .. } => {
                return Ok(Disposition::Done)
            }
        };
        let children = page.items.iter().map(|key| Notification {
            id: parent.id.child(&key.to_string()),
            target: Target::Conversation { key: key.clone() },
            activity: parent.activity.clone(),
            reason: parent.reason.clone(),
            not_before: None,
            operation: Operation::Send,
        });
        let more = page.next.map(|next| Notification {
            target: parent.target.after(next),
            ..parent.clone()
        });
        self.enqueue_page(children.collect(), more).await
    }

    /// One page of a list of Teams users ([`Target::Members`]): one child
    /// per user of the page, each reached on its own (`member`), and the
    /// rest of the list after them.
    async fn expand_members(
        &self,
        parent: &Notification,
        tenant_id: &str,
        member_ids: &[String],
    ) -> Result<Disposition, DeliveryError> {
        let split = member_ids.len().min(self.settings.fanout_page.max(1));
        let (page, rest) = member_ids.split_at(split);
        let children = page.iter().map(|member_id| Notification {
            id: parent.id.child(&format!("{tenant_id}/{member_id}")),
            target: Target::Member {
                tenant_id: tenant_id.to_owned(),
                member_id: member_id.clone(),
            },
            activity: parent.activity.clone(),
            reason: parent.reason.clone(),
            not_before: None,
            operation: Operation::Send,
        });
        let more = (!rest.is_empty()).then(|| Notification {
            target: Target::Members {
                tenant_id: tenant_id.to_owned(),
                member_ids: rest.to_vec(),
            },
            ..parent.clone()
        });
        self.enqueue_page(children.collect(), more).await
    }

    /// One page of an edit or a recall ([`Target::Delivered`]): one child
    /// per conversation the earlier notification `of` was sent to, which
    /// changes the message the channel holds there. A notification to one
    /// conversation has its own record; a fan-out, one per child. Records
    /// that sent nothing (failed, blocked, still pending) have nothing to
    /// change.
    async fn expand_edit(
        &self,
        parent: &Notification,
        of: &NotificationId,
        edit: Edit,
        after: Option<&NotificationId>,
    ) -> Result<Disposition, DeliveryError> {
        let page = match self.store.get_delivery(of).await? {
            Some(own) if after.is_none() => Page {
                items: vec![own],
                next: None,
            },
            Some(_) => Page {
                items: Vec::new(),
                next: None,
            },
            None => {
                self.store
                    .child_deliveries(of, after, self.settings.fanout_page)
                    .await?
            }
        };
        let children = page.items.into_iter().filter_map(|record| {
            let (key, activity_id) = match (record.status, record.conversation, record.activity_id)
            {
                (DeliveryStatus::Sent, Some(key), Some(id)) => (key, id),
                _ => return None,
            };
            let operation = match edit {
                Edit::Update => Operation::Update { activity_id },
                Edit::Delete => Operation::Delete { activity_id },
            };
            Some(Notification {
                id: parent.id.child(&key.to_string()),
                target: Target::Conversation { key },
                activity: parent.activity.clone(),
                reason: parent.reason.clone(),
                not_before: None,
                operation,
            })
        });
        let more = page.next.map(|next| Notification {
            target: Target::Delivered {
                of: of.clone(),
                edit,
                after: Some(next),
            },
            ..parent.clone()
        });
        self.enqueue_page(children.collect(), more).await
    }

    /// Enqueues a page's children and, if the audience goes on, the parent
    /// again with its cursor after the page, in one batch.
    async fn enqueue_page(
        &self,
        mut batch: Vec<Notification>,
        more: Option<Notification>,
    ) -> Result<Disposition, DeliveryError> {
        let recipients = batch.len();
        batch.extend(more);
        enqueue(self.queue.as_ref(), &batch).await?;
        tracing::info!(
            recipients,
            more = batch.len() > recipients,
            "fan-out page expanded"
        );
        Ok(Disposition::Done)
    }
}
