//! OAuth2 client credentials against an Entra ID token endpoint: the app id
//! and its secret are exchanged for a token scoped to the Bot Connector
//! (`https://api.botframework.com/.default`).

use super::cache::{Cached, Request};
use crate::secret::Secret;

/// Client credentials, cached.
pub type ClientCredentials = Cached<ClientSecret>;

/// A client-credentials request with the app's secret.
pub struct ClientSecret {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    scope: String,
}

impl Request for ClientSecret {
    fn url(&self) -> &str {
        &self.token_url
    }

    fn build(&self) -> reqwest::RequestBuilder {
        self.http.post(&self.token_url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose_str()),
            ("scope", &self.scope),
        ])
    }
}

impl Cached<ClientSecret> {
    /// `token_url`: `{authority}/oauth2/v2.0/token`; `scope`: the resource
    /// and `/.default`.
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: Secret,
        scope: String,
    ) -> Self {
        Cached::with_request(ClientSecret {
            http,
            token_url,
            client_id,
            client_secret,
            scope,
        })
    }
}
