//! The pipeline policy that signs the official SDK clients' requests with
//! a fresh account SAS ([`super::sas`]).

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};
use jiff::Timestamp;

use super::sas;
use crate::secret::Secret;

/// Adds an account SAS to every request's query, made when it is sent.
#[derive(Debug)]
pub struct SasPolicy {
    account: String,
    key: Secret,
}

impl SasPolicy {
    /// A policy signing for `account` with its `key`.
    pub fn new(account: &str, key: &Secret) -> Arc<SasPolicy> {
        Arc::new(SasPolicy {
            account: account.to_owned(),
            key: key.clone(),
        })
    }
}

#[async_trait]
impl Policy for SasPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        sas::sign_url(
            request.url_mut(),
            &self.account,
            &self.key,
            Timestamp::now(),
        );
        next[0].send(ctx, request, &next[1..]).await
    }
}
