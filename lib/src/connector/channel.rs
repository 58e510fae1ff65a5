//! The seam between nudge's logic and the Bot Connector: what delivery and
//! in-turn replies need of a channel, as a trait. [`ConnectorClient`]
//! is the one real implementation (HTTPS, tokens, the trust policy); a unit
//! test of `delivery` or `api::replies` puts a channel of its own here and
//! needs no HTTP server. End-to-end tests still talk HTTP to a fake
//! channel through the real client.

use async_trait::async_trait;

use super::{
    ConnectorClient, ConnectorError, CreatedConversation, ResourceResponse, TeamChannelInfo,
};
use crate::activity::Activity;
use crate::service_url::{Provenance, ServiceUrl};

/// A channel nudge sends activities to (see the module doc).
#[async_trait]
pub trait Channel: Send + Sync {
    /// Sends `activity` where it says it goes: as a reply to the activity
    /// its `replyToId` names, else as a new activity in the conversation.
    async fn send_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError>;

    /// Replaces the activity the channel holds under `activity_id` (an
    /// edit).
    async fn update_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError>;

    /// Deletes the activity the channel holds under `activity_id` (a
    /// recall).
    async fn delete_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
    ) -> Result<ResourceResponse, ConnectorError>;

    /// Opens a 1:1 conversation between the bot (`bot_id`) and one user
    /// (`member_id`) of `tenant_id`, or finds the one there is
    /// ([`ConnectorClient::create_conversation`]).
    async fn create_conversation(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        bot_id: &str,
        member_id: &str,
        tenant_id: &str,
    ) -> Result<CreatedConversation, ConnectorError>;

    /// The channels of a team the bot is installed in
    /// ([`ConnectorClient::team_channels`]).
    async fn team_channels(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        team_id: &str,
    ) -> Result<Vec<TeamChannelInfo>, ConnectorError>;

    /// Gets ready for a send timed to a rate-limit slot (a token, a
    /// connection), so that it leaves at its slot. Nothing by default.
    async fn ready(&self, _service_url: &ServiceUrl, _provenance: Provenance) {}
}

/// The Bot Connector over HTTPS: the bot's token on every call, the trust
/// policy checked before any.
#[async_trait]
impl Channel for ConnectorClient {
    async fn send_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        match activity.reply_to_id.as_deref() {
            Some(reply_to) => {
                self.reply_to_activity(service_url, provenance, conversation_id, reply_to, activity)
                    .await
            }
            None => {
                self.send_to_conversation(service_url, provenance, conversation_id, activity)
                    .await
            }
        }
    }

    async fn update_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        ConnectorClient::update_activity(
            self,
            service_url,
            provenance,
            conversation_id,
            activity_id,
            activity,
        )
        .await
    }

    async fn delete_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
    ) -> Result<ResourceResponse, ConnectorError> {
        ConnectorClient::delete_activity(
            self,
            service_url,
            provenance,
            conversation_id,
            activity_id,
        )
        .await
    }

    async fn create_conversation(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        bot_id: &str,
        member_id: &str,
        tenant_id: &str,
    ) -> Result<CreatedConversation, ConnectorError> {
        ConnectorClient::create_conversation(
            self,
            service_url,
            provenance,
            bot_id,
            member_id,
            tenant_id,
        )
        .await
    }

    async fn team_channels(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        team_id: &str,
    ) -> Result<Vec<TeamChannelInfo>, ConnectorError> {
        ConnectorClient::team_channels(self, service_url, provenance, team_id).await
    }

    /// Fetches the bot's token if the cache has none, and opens a
    /// connection to a service URL this process has not sent to yet
    /// (`connector::warm`): a cold instance's first send arrived late and
    /// bunched with the next slot (429). Only a service URL the trust
    /// policy allows is contacted; a failure is left for the send itself
    /// to meet and report.
    async fn ready(&self, service_url: &ServiceUrl, provenance: Provenance) {
        if self.trust.check(service_url, provenance).is_err() {
            return;
        }
        if let Err(error) = self.tokens.token().await {
            tracing::debug!(%error, "no Connector token ahead of the send");
        }
        self.warmed.warm(&self.http, service_url).await;
    }
}
