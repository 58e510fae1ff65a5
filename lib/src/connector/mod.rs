//! The Bot Connector REST client.
//!
//! Two calls carry everything nudge says: reply to an activity within a turn
//! (`POST {serviceUrl}/v3/conversations/{id}/activities/{activityId}`) and
//! send a new activity to a conversation, which is how a proactive message
//! goes out (`POST {serviceUrl}/v3/conversations/{id}/activities`).
//! Conversation and activity ids are opaque and full of `:`, `|`, `@`, `;`,
//! so each is percent-encoded as one path segment.
//!
//! Calls carry a bearer token when the bot has credentials, and only to a
//! service URL the [`TrustPolicy`] accepts for where the URL came from (its
//! [`Provenance`]): the check comes before the token is even fetched.

mod channel;
mod error;
mod identity;
pub mod token;
pub mod trust;
mod warm;

pub use channel::Channel;
pub use error::{parse_retry_after, ConnectorError};
pub use identity::{AppIdentity, AppType};
pub use token::{
    ClientCredentials, ManagedIdentity, MsiEndpoint, NoCredentials, TokenError, TokenSource,
};
pub use trust::{TrustPolicy, TrustSettings};

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::activity::Activity;
use crate::fetch::describe;
use crate::ids::is_dot_segment;
use crate::service_url::{Provenance, ServiceUrl};

/// What the channel answers when it accepts an activity.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResourceResponse {
    /// The activity's id on the channel (some channels send none).
    #[serde(default)]
    pub id: Option<String>,
    /// The HTTP status it answered with.
    #[serde(skip)]
    pub status: u16,
}

/// What the channel answers when it creates a conversation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConversation {
    /// The new (or existing) conversation's id.
    #[serde(default)]
    pub id: String,
    /// The id of a first activity, when one was sent with the creation.
    #[serde(default)]
    pub activity_id: Option<String>,
    /// Where to send to the conversation, when the channel says.
    #[serde(default)]
    pub service_url: Option<String>,
}

/// One channel of a team, as `GET /v3/teams/{teamId}/conversations`
/// lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct TeamChannelInfo {
    /// The channel's conversation id (`19:…@thread.tacv2`; the General
    /// channel's is the team's id).
    #[serde(default)]
    pub id: String,
    /// Its name (Teams gives none for the General channel).
    #[serde(default)]
    pub name: Option<String>,
}

/// The body of `GET /v3/teams/{teamId}/conversations`.
#[derive(serde::Deserialize)]
struct TeamChannels {
    #[serde(default)]
    conversations: Vec<TeamChannelInfo>,
}

/// Everything but the RFC 3986 unreserved characters is encoded, as the
/// Bot Framework SDKs do for ids in paths.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `id` as one path segment. `.` and `..` are refused: no encoding keeps a
/// URL parser from reading them as "here" and "up" ([`is_dot_segment`]).
/// Ids are checked where they enter; this keeps a bad one from ever
/// reaching a URL.
fn segment(id: &str) -> Result<impl std::fmt::Display + '_, ConnectorError> {
    if is_dot_segment(id) {
        return Err(ConnectorError::InvalidId(id.to_owned()));
    }
    Ok(utf8_percent_encode(id, PATH_SEGMENT))
}

/// The path of one activity in a conversation.
fn activity_path(conversation_id: &str, activity_id: &str) -> Result<String, ConnectorError> {
    Ok(format!(
        "v3/conversations/{}/activities/{}",
        segment(conversation_id)?,
        segment(activity_id)?
    ))
}

/// How long one Connector call may take before it counts as a network
/// failure (and is retried by the caller's policy).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The Bot Connector REST client: a pooled HTTP client, the bot's tokens
/// and the service-URL trust policy.
#[derive(Clone)]
pub struct ConnectorClient {
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
    trust: Arc<TrustPolicy>,
    warmed: Arc<warm::Warmed>,
}

impl ConnectorClient {
    /// A client sending with `http`, authenticating with `tokens`, and
    /// calling only the service URLs `trust` allows. Build `http` with
    /// [`ConnectorClient::http_client`]: nudge's reqwest has no TLS crypto
    /// provider of its own (it is handed rustls on ring, `tls.rs`), so a
    /// `reqwest::Client::new()` panics unless the process installed a
    /// rustls provider or enabled reqwest's default TLS itself.
    pub fn new(http: reqwest::Client, tokens: Arc<dyn TokenSource>, trust: TrustPolicy) -> Self {
        ConnectorClient {
            http,
            tokens,
            trust: Arc::new(trust),
            warmed: Arc::default(),
        }
    }

    /// An HTTP client with the timeouts the Connector calls want, which
    /// follows no redirects (`fetch::client_builder`). Every host
    /// builds its Connector, token and key clients with it, once: its pool
    /// keeps connections to each service URL alive between sends (HTTP/1.1
    /// keep-alive: at most one connection per send in flight; HTTP/2 is not
    /// linked, #13), so a broadcast pays a TLS handshake per connection,
    /// not per message. `tests/tests/delivery_local.rs` counts them.
    pub fn http_client() -> reqwest::Client {
        crate::fetch::client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .build()
            // Only a TLS backend that cannot start fails here, at start-up,
            // and no call could be made without one.
            .expect("the HTTP client's TLS backend starts")
    }

    /// Sends a new activity to a conversation (a proactive message).
    pub async fn send_to_conversation(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = format!("v3/conversations/{}/activities", segment(conversation_id)?);
        self.post(service_url, provenance, &path, activity).await
    }

    /// Replies to an activity within a turn.
    pub async fn reply_to_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = activity_path(conversation_id, activity_id)?;
        self.post(service_url, provenance, &path, activity).await
    }

    /// Replaces an activity the bot sent (`PUT …/activities/{activityId}`):
    /// the message changes in place for everyone in the conversation. Teams
    /// answers 404 `ActivityNotFoundInConversation` for an id it does not
    /// know there, or one already deleted.
    pub async fn update_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = activity_path(conversation_id, activity_id)?;
        let request = |url: &str| self.http.put(url).json(activity);
        self.call(service_url, provenance, &path, request).await
    }

    /// Deletes an activity the bot sent (`DELETE …/activities/{activityId}`):
    /// the message is taken back for everyone in the conversation.
    pub async fn delete_activity(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        conversation_id: &str,
        activity_id: &str,
    ) -> Result<ResourceResponse, ConnectorError> {
        let path = activity_path(conversation_id, activity_id)?;
        let request = |url: &str| self.http.delete(url);
        self.call(service_url, provenance, &path, request).await
    }

    async fn post(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        path: &str,
        activity: &Activity,
    ) -> Result<ResourceResponse, ConnectorError> {
        let request = |url: &str| self.http.post(url).json(activity);
        self.call(service_url, provenance, path, request).await
    }

    /// One Connector call, built by `request` for the URL: the trust policy
    /// checked first, the bot's token on it, a non-success status turned
    /// into the channel's error.
    async fn call(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        path: &str,
        request: impl FnOnce(&str) -> reqwest::RequestBuilder,
    ) -> Result<ResourceResponse, ConnectorError> {
        let (status, body) = self
            .exchange(service_url, provenance, path, request)
            .await?;
        // The channel accepted the activity: an unreadable body must not
        // turn that into a failure (and a resend).
        let mut accepted: ResourceResponse = serde_json::from_slice(&body).unwrap_or_default();
        accepted.status = status;
        Ok(accepted)
    }

    /// Creates a 1:1 conversation between the bot (`bot_id`, its Microsoft
    /// App ID) and one user of `tenant_id` (`POST /v3/conversations`): the
    /// way to reach a user who has the app but never wrote to the bot.
    /// `member_id` is the user's Teams id (`29:…`) or Microsoft Entra
    /// object id. Teams answers 403 when the app is not installed for the
    /// user. An existing 1:1 conversation is returned, not duplicated.
    pub async fn create_conversation(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        bot_id: &str,
        member_id: &str,
        tenant_id: &str,
    ) -> Result<CreatedConversation, ConnectorError> {
        let body = serde_json::json!({
            "bot": {"id": bot_id},
            "members": [{"id": member_id}],
            "isGroup": false,
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        });
        let request = |url: &str| self.http.post(url).json(&body);
        let (_, answer) = self
            .exchange(service_url, provenance, "v3/conversations", request)
            .await?;
        serde_json::from_slice::<CreatedConversation>(&answer)
            .ok()
            .filter(|created| !created.id.is_empty())
            .ok_or_else(|| ConnectorError::Status {
                status: 200,
                code: None,
                message: Some("the channel created a conversation but named none".into()),
                retry_after: None,
            })
    }

    /// The channels of a team the bot is installed in (`GET
    /// /v3/teams/{teamId}/conversations`): where the bot may post.
    pub async fn team_channels(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        team_id: &str,
    ) -> Result<Vec<TeamChannelInfo>, ConnectorError> {
        let path = format!("v3/teams/{}/conversations", segment(team_id)?);
        let request = |url: &str| self.http.get(url);
        let (status, body) = self
            .exchange(service_url, provenance, &path, request)
            .await?;
        let listed: TeamChannels =
            serde_json::from_slice(&body).map_err(|e| ConnectorError::Status {
                status,
                code: None,
                message: Some(format!("the channel list could not be read: {e}")),
                retry_after: None,
            })?;
        Ok(listed
            .conversations
            .into_iter()
            .filter(|c| !c.id.is_empty())
            .collect())
    }

    /// One HTTP exchange with the channel: the trust policy checked first,
    /// the bot's token on it, a non-success status turned into the
    /// channel's error; the status and body of a success.
    async fn exchange(
        &self,
        service_url: &ServiceUrl,
        provenance: Provenance,
        path: &str,
        request: impl FnOnce(&str) -> reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes), ConnectorError> {
        self.trust.check(service_url, provenance)?;
        let url = service_url.join(path);
        let mut request = request(&url);
        if let Some(token) = self.tokens.token().await? {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ConnectorError::Network(describe(&e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| ConnectorError::Network(describe(&e)))?;
        if !(200..300).contains(&status) {
            return Err(ConnectorError::from_response(
                status,
                retry_after.as_deref(),
                &body,
            ));
        }
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_single_path_segments() {
        let id = "19:abc@thread.skype;messageid=1|x/y";
        assert_eq!(
            segment(id).unwrap().to_string(),
            "19%3Aabc%40thread.skype%3Bmessageid%3D1%7Cx%2Fy"
        );
        assert_eq!(segment("...").unwrap().to_string(), "...");
    }

    #[test]
    fn dot_segments_never_reach_a_url() {
        for id in [".", ".."] {
            assert!(matches!(segment(id), Err(ConnectorError::InvalidId(_))));
        }
    }
}
