//! Azure Storage through a managed identity: nudge's own managed-identity
//! token source (the one a `UserAssignedMSI` bot gets its Connector tokens
//! from, with its cache, retries and refresh-early rule), offered to the
//! Azure SDK as a [`TokenCredential`]. The queue client and the Table REST
//! client both take it, so one token serves both services.
//!
//! Why not `azure_identity`: it would be a second token stack beside the
//! one the Connector needs anyway, with its own HTTP client and cache; the
//! host's identity endpoint is one GET.

use std::fmt;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::OffsetDateTime;

use crate::connector::token::{ManagedIdentity, MsiEndpoint};

/// The resource managed-identity endpoints issue Storage tokens for.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// Storage tokens from the host's managed identity.
pub struct IdentityCredential {
    tokens: ManagedIdentity,
}

impl IdentityCredential {
    /// `client_id`: which user-assigned identity; `None` for the
    /// system-assigned one.
    pub fn new(
        http: reqwest::Client,
        endpoint: MsiEndpoint,
        client_id: Option<String>,
    ) -> IdentityCredential {
        IdentityCredential {
            tokens: ManagedIdentity::new(http, endpoint, client_id, STORAGE_RESOURCE.to_owned()),
        }
    }
}

impl fmt::Debug for IdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityCredential")
    }
}

#[async_trait::async_trait]
impl TokenCredential for IdentityCredential {
    /// Every scope asked for is Storage's (the only service this credential
    /// is given to). The expiry reported is when nudge's cache refreshes, so
    /// a caller that caches too asks again exactly then.
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let (token, refresh_in) = self
            .tokens
            .token_and_refresh_in()
            .await
            .map_err(|error| azure_core::Error::new(ErrorKind::Credential, error))?;
        let refresh_in = azure_core::time::Duration::try_from(refresh_in)
            .unwrap_or(azure_core::time::Duration::ZERO);
        Ok(AccessToken::new(
            token,
            OffsetDateTime::now_utc() + refresh_in,
        ))
    }
}
