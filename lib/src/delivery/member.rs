//! A notification to a Teams user by tenant ([`Target::Member`]): into
//! their 1:1 conversation with the bot, which is created first when nudge
//! has none (`crate::reach` says how the tenant is reached).
//!
//! A user nudge has an active conversation with (in the directory) is
//! sent to as any conversation is. Otherwise the attempt claims the delivery, takes
//! a slot from the tenant's limits (creating a conversation is a request
//! Teams counts like a send), and asks Teams for the conversation. Teams
//! answers with the existing conversation when there is one, so a
//! creation repeated after a crash makes nothing twice. The new reference
//! is stored (an active stored one is kept as it is) and the user noted in
//! the directory; the claim is given back uncounted and the send goes on
//! as to any conversation, with that conversation's slot, in the same
//! attempt. A 403 means the app is not installed for the user (or may
//! not message them): the delivery is recorded `blocked` with Teams'
//! code and not retried. Other failures follow the usual policy.

use std::time::Instant;

use jiff::Timestamp;

use super::{DeliveryError, Disposition, Notifier};
use crate::connector::CreatedConversation;
use crate::ids::ConversationKey;
use crate::notification::Notification;
use crate::reach::{self, Reach};
use crate::store::{DeliveryStatus, DirectoryEntry, MemberRecord};

impl Notifier {
    pub(super) async fn send_to_member(
        &self,
        notification: &Notification,
        tenant_id: &str,
        member_id: &str,
        now: Timestamp,
    ) -> Result<Disposition, DeliveryError> {
        let store = self.store.as_ref();
        if let Some(key) = reach::active_conversation(store, tenant_id, member_id).await? {
            return self.send_one(notification, &key, now).await;
        }
        let began = Instant::now();
        let mut record = match self.claim(notification, None, now).await? {
            Ok(record) => record,
            Err(disposition) => return Ok(disposition),
        };
        let reach = match self.settings.teams.reach(store, tenant_id).await? {
            Ok(reach) => reach,
            Err(why) => {
                return self
                    .finish(notification, &mut record, DeliveryStatus::Failed, &why)
                    .await
            }
        };
        self.limiter
            .ready(self.channel.as_ref(), &reach.service_url, reach.provenance)
            .await;
        if let Some(wait) = self.slot(&mut record, None, Some(tenant_id), began).await? {
            tracing::debug!(
                tenant = tenant_id,
                ?wait,
                "rate limited before creating a conversation; back on the queue"
            );
            self.release(&mut record).await?;
            return Ok(Disposition::RetryAfter(wait));
        }
        let created = self
            .channel
            .create_conversation(
                &reach.service_url,
                reach.provenance,
                &reach.bot_id,
                member_id,
                tenant_id,
            )
            .await;
        match created {
            Ok(created) => {
                let Some(key) = self
                    .remember_created(&reach, tenant_id, member_id, &created)
                    .await?
                else {
                    let why = "the channel named a conversation id nudge cannot use";
                    return self
                        .finish(notification, &mut record, DeliveryStatus::Failed, why)
                        .await;
                };
                tracing::info!(tenant = tenant_id, conversation = %key, "created a 1:1 conversation");
                record.conversation = Some(key.clone());
                self.release(&mut record).await?;
                self.send_one(notification, &key, self.clock.now()).await
            }
            Err(error) if error.status() == Some(403) => {
                record.status_codes.push(403);
                self.finish(
                    notification,
                    &mut record,
                    DeliveryStatus::Blocked,
                    &format!(
                        "Teams would not open a conversation with {member_id} of tenant \
                         {tenant_id} (is the app installed for them?): {error}"
                    ),
                )
                .await
            }
            Err(error) => self.failed(notification, &mut record, None, &error).await,
        }
    }

    /// Stores the reference of a conversation Teams created (keeping an
    /// active one already stored) and notes the user in the directory;
    /// `None` when the channel's id is unusable.
    async fn remember_created(
        &self,
        reach: &Reach,
        tenant_id: &str,
        member_id: &str,
        created: &CreatedConversation,
    ) -> Result<Option<ConversationKey>, DeliveryError> {
        let now = self.clock.now();
        let Ok(fresh) = reach::created_reference(
            reach,
            tenant_id,
            member_id,
            &created.id,
            created.service_url.as_deref(),
            now,
        ) else {
            return Ok(None);
        };
        let stored = match self.store.get_reference(&fresh.key).await? {
            Some(stored) if stored.active => stored,
            _ => {
                self.store.save_reference(&fresh).await?;
                fresh
            }
        };
        let named = DirectoryEntry::Member(MemberRecord {
            tenant_id: tenant_id.to_owned(),
            member_id: member_id.to_owned(),
            conversation: stored.key.clone(),
            seen: now,
        });
        let entries: Vec<_> = reach::member_entries(&stored, now)
            .into_iter()
            .chain([named])
            .collect();
        self.store.put_directory_entries(&entries).await?;
        Ok(Some(stored.key))
    }
}
