//! The seam between nudge's logic and the Bot Connector: what delivery and
//! in-turn replies need of a channel, as a trait. [`super::ConnectorClient`]
//! is the one real implementation (HTTPS, tokens, the trust policy); a unit
//! test of `delivery` or `api::replies` puts a channel of its own here and
//! needs no HTTP server. End-to-end tests still talk HTTP to a fake
//! channel through the real client.

use async_trait::async_trait;

use super::{ConnectorError, ResourceResponse};
use crate::activity::Activity;
use crate::service_url::{Provenance, ServiceUrl};

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

    /// Gets ready for a send timed to a rate-limit slot (a token, a
    /// connection), so that it leaves at its slot. Nothing by default.
    async fn ready(&self, _service_url: &ServiceUrl, _provenance: Provenance) {}
}

#[async_trait]
impl Channel for super::ConnectorClient {
    async fn send_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        super::ConnectorClient::send_activity(
            self,
            service_url,
            provenance,
            conversation_id,
            activity,
        )
        .await
    }

    async fn ready(&self, service_url: &ServiceUrl, provenance: Provenance) {
        super::ConnectorClient::ready(self, service_url, provenance).await;
    }
}
