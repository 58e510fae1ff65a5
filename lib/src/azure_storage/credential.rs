//! How a request to the account proves itself, for code that builds its
//! own requests (the Table REST module): a fresh account SAS in the URL
//! when the account has a key, else an Entra bearer token.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use jiff::Timestamp;
use url::Url;

use super::{sas, StorageAccount};
use crate::secret::Secret;

/// The scope of Entra tokens for Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// What signs requests to one account.
#[derive(Clone, Debug)]
pub enum Credential {
    /// The account key: an account SAS per request.
    Key {
        /// The account's name.
        account: String,
        /// Its key.
        key: Secret,
    },
    /// An Entra token source (a managed identity).
    Token(Arc<dyn TokenCredential>),
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("no token for Azure Storage: {0}")]
pub struct CredentialError(String);

impl Credential {
    /// The account's key, else `token` (an account without a key needs
    /// one; `None` then signs nothing and the service refuses).
    pub fn for_account(
        account: &StorageAccount,
        token: Option<Arc<dyn TokenCredential>>,
    ) -> Option<Credential> {
        match (&account.key, token) {
            (Some(key), _) => Some(Credential::Key {
                account: account.name.clone(),
                key: key.clone(),
            }),
            (None, Some(token)) => Some(Credential::Token(token)),
            (None, None) => None,
        }
    }

    /// Signs a request to `url`: adds the SAS to `url`, or returns the
    /// bearer token the request must carry.
    pub async fn authorize(&self, url: &mut Url) -> Result<Option<String>, CredentialError> {
        match self {
            Credential::Key { account, key } => {
                sas::sign_url(url, account, key, Timestamp::now());
                Ok(None)
            }
            Credential::Token(source) => {
                let token = source
                    .get_token(&[STORAGE_SCOPE], None)
                    .await
                    .map_err(|error| CredentialError(error.to_string()))?;
                Ok(Some(token.token.secret().to_owned()))
            }
        }
    }
}
