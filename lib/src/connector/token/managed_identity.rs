//! A user-assigned managed identity's token (`MicrosoftAppType`
//! `UserAssignedMSI`): the Azure host hands the bot a token for its identity,
//! so no secret exists to leak or rotate.
//!
//! Two endpoints, chosen by what the host sets:
//! - App Service and Azure Functions set `IDENTITY_ENDPOINT` and
//!   `IDENTITY_HEADER`: `GET {endpoint}?api-version=2019-08-01&resource=..&client_id=..`
//!   with the header value in `X-IDENTITY-HEADER` (it proves the caller runs
//!   on the host, which stops a forwarded request from getting a token).
//! - Virtual machines and containers use the instance metadata service:
//!   `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&..`
//!   with `Metadata: true`.
//!
//! The resource is the Connector's (`https://api.botframework.com`, no
//! `/.default`; Azure Storage's for the Azure host's queue and table), and
//! `client_id` names which of the host's user-assigned identities (none:
//! the system-assigned one).

use std::fmt;

use super::cache::{Cached, Request};
use crate::env::Env;

/// The instance metadata service's token endpoint.
pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Where the host serves managed-identity tokens.
#[derive(Clone, PartialEq, Eq)]
pub enum MsiEndpoint {
    /// App Service / Azure Functions (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    AppService {
        /// `IDENTITY_ENDPOINT`.
        url: String,
        /// `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`.
        header: String,
    },
    /// The instance metadata service.
    Imds {
        /// Its token URL.
        url: String,
    },
}

impl MsiEndpoint {
    /// The App Service endpoint when the host set one, else IMDS.
    pub fn from_env(env: &dyn Env) -> MsiEndpoint {
        match (env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")) {
            (Some(url), Some(header)) => MsiEndpoint::AppService { url, header },
            _ => MsiEndpoint::Imds {
                url: IMDS_TOKEN_URL.to_owned(),
            },
        }
    }

    fn url(&self) -> &str {
        match self {
            MsiEndpoint::AppService { url, .. } | MsiEndpoint::Imds { url } => url,
        }
    }
}

impl fmt::Debug for MsiEndpoint {
    /// Never prints `IDENTITY_HEADER`: it is a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsiEndpoint::AppService { url, .. } => f
                .debug_struct("AppService")
                .field("url", url)
                .field("header", &"<redacted>")
                .finish(),
            MsiEndpoint::Imds { url } => f.debug_struct("Imds").field("url", url).finish(),
        }
    }
}

/// Managed-identity tokens, cached.
pub type ManagedIdentity = Cached<MsiRequest>;

/// A token request to the host's managed-identity endpoint.
pub struct MsiRequest {
    http: reqwest::Client,
    endpoint: MsiEndpoint,
    client_id: Option<String>,
    resource: String,
}

impl Request for MsiRequest {
    fn url(&self) -> &str {
        self.endpoint.url()
    }

    fn build(&self) -> reqwest::RequestBuilder {
        let (version, header) = match &self.endpoint {
            MsiEndpoint::AppService { header, .. } => {
                ("2019-08-01", ("X-IDENTITY-HEADER", header.as_str()))
            }
            MsiEndpoint::Imds { .. } => ("2018-02-01", ("Metadata", "true")),
        };
        let request = self
            .http
            .get(self.endpoint.url())
            .query(&[("api-version", version), ("resource", &self.resource)])
            .header(header.0, header.1);
        match &self.client_id {
            Some(client_id) => request.query(&[("client_id", client_id)]),
            None => request,
        }
    }
}

impl Cached<MsiRequest> {
    /// `client_id`: the user-assigned identity's client id (the bot's
    /// `MicrosoftAppId`), or `None` for the system-assigned identity;
    /// `resource`: what the token is for.
    pub fn new(
        http: reqwest::Client,
        endpoint: MsiEndpoint,
        client_id: Option<String>,
        resource: String,
    ) -> Self {
        Cached::with_request(MsiRequest {
            http,
            endpoint,
            client_id,
            resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_service_endpoint_wins_when_the_host_sets_it() {
        let app_service = MsiEndpoint::from_env(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"),
            ("IDENTITY_HEADER", "secret-header"),
        ]);
        assert!(matches!(app_service, MsiEndpoint::AppService { .. }));
        assert!(!format!("{app_service:?}").contains("secret-header"));
        let imds = MsiEndpoint::from_env(&[("IDENTITY_ENDPOINT", "http://x")]);
        assert_eq!(
            imds,
            MsiEndpoint::Imds {
                url: IMDS_TOKEN_URL.into()
            }
        );
    }
}
