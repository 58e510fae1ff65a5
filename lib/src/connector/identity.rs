//! Who the bot is to the Bot Connector: its app id and how it gets its
//! tokens. [`crate::config`] reads it; the token sources and the inbound
//! check use it.

use super::MsiEndpoint;
use crate::secret::Secret;

/// How the bot authenticates to the Connector (`MicrosoftAppType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// Tokens from the Bot Framework tenant (`botframework.com`).
    MultiTenant,
    /// Tokens from the app's own tenant (`MicrosoftAppTenantId`).
    SingleTenant,
    /// A user-assigned managed identity (Azure hosts): no password.
    UserAssignedMsi,
}

/// The bot's Azure identity; absent when no `MicrosoftAppId` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIdentity {
    /// `MicrosoftAppId`.
    pub app_id: String,
    /// The client secret (`MicrosoftAppPassword`): never printed.
    pub password: Option<Secret>,
    /// `MicrosoftAppType`.
    pub app_type: AppType,
    /// `MicrosoftAppTenantId`.
    pub tenant_id: Option<String>,
    /// Entra ID authority for outbound tokens; `/oauth2/v2.0/token` is added.
    pub login_url: String,
    /// Resource the outbound token is for; `/.default` is added.
    pub oauth_scope: String,
    /// Where a `UserAssignedMSI` bot gets its tokens.
    pub managed_identity: Option<MsiEndpoint>,
}

impl AppIdentity {
    /// Where outbound tokens are fetched.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.login_url.trim_end_matches('/'))
    }

    /// The scope outbound tokens are fetched for (the Bot Connector's).
    pub fn scope(&self) -> String {
        format!("{}/.default", self.oauth_scope.trim_end_matches('/'))
    }
}
