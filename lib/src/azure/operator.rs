//! The operator's view of a Function App's queue from a terminal:
//! `nudge dead-letters --azure` and `nudge redrive --azure` read the same
//! settings the handler does (`AzureWebJobsStorage` or its identity-based
//! form, `NUDGE_QUEUE_NAME`) and work on `<queue>-poison`, where the
//! handler's dead letters (with their reason) and the host's poisoned
//! messages (without one) both land.
//!
//! A terminal has no managed identity: with identity-based settings the
//! command signs with a token the operator got themselves
//! (`az account get-access-token --resource https://storage.azure.com`),
//! given in [`ACCESS_TOKEN_SETTING`]; their account needs a queue data role
//! on the storage account (main.bicep's accounts take no keys).

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::time::{Duration, OffsetDateTime};

use super::functions::QUEUE_NAME_SETTING;
use super::settings::DEFAULT_QUEUE;
use super::storage_setting::StorageSetting;
use crate::env::{ConfigError, Env};
use crate::queue::azure::AzureQueue;
use crate::queue::{DeadLetter, Queue, QueueError};

/// Where the operator's own Storage token goes.
pub const ACCESS_TOKEN_SETTING: &str = "NUDGE_STORAGE_ACCESS_TOKEN";

/// Why an operator command on the Azure queues failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The app's settings do not name a usable storage account.
    #[error("{}: {}", .0.variable, .0.problem)]
    Config(#[from] ConfigError),
    /// The queue cannot be reached.
    #[error("cannot reach the queue: {0}")]
    Queue(#[from] QueueError),
}

/// The app's notification queue, as the settings in `env` name it. It
/// never receives, so it never poisons anything itself.
pub fn queue(env: &dyn Env, http: reqwest::Client) -> Result<AzureQueue, OperatorError> {
    let storage = StorageSetting::from_env(env)?;
    let name = env
        .get(QUEUE_NAME_SETTING)
        .unwrap_or_else(|| DEFAULT_QUEUE.into());
    let token = match storage.identity {
        None => None,
        Some(_) => {
            let token = env.get(ACCESS_TOKEN_SETTING).ok_or_else(|| ConfigError {
                variable: ACCESS_TOKEN_SETTING,
                problem: "is required with identity-based storage settings: \
                          az account get-access-token --resource https://storage.azure.com \
                          --query accessToken -o tsv"
                    .into(),
            })?;
            Some(Arc::new(GivenToken(token.trim().to_owned())) as Arc<dyn TokenCredential>)
        }
    };
    Ok(AzureQueue::new(&storage.account, &name, http, token, 0)?)
}

/// A token the operator brought; it lives as long as the command.
struct GivenToken(String);

impl fmt::Debug for GivenToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GivenToken")
    }
}

#[async_trait::async_trait]
impl TokenCredential for GivenToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        // Entra's tokens live an hour at least; a command takes seconds.
        Ok(AccessToken::new(
            self.0.clone(),
            OffsetDateTime::now_utc() + Duration::minutes(5),
        ))
    }
}

/// Moves every message of `<queue>-poison` back onto the queue; returns
/// how many.
pub async fn redrive(env: &dyn Env) -> Result<usize, OperatorError> {
    let queue = queue(env, crate::connector::ConnectorClient::http_client())?;
    Ok(queue.redrive_dead_letters(usize::MAX).await?)
}

/// The oldest `limit` messages of `<queue>-poison`, with their reason when
/// nudge put them there.
pub async fn dead_letters(env: &dyn Env, limit: usize) -> Result<Vec<DeadLetter>, OperatorError> {
    let queue = queue(env, crate::connector::ConnectorClient::http_client())?;
    Ok(queue.dead_letters(limit).await?)
}
