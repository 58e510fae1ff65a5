//! Inbound authentication: is this activity really from the Bot Connector?
//!
//! Every activity on `/api/messages` passes an [`InboundAuth`] before the bot
//! sees it. The Bot Framework JWT validator implements it for every host that
//! has an app id; [`Unauthenticated`] exists only for the local host without
//! an app id (the Emulator), which says so loudly when it starts.

use async_trait::async_trait;

use crate::turn::Turn;

/// Why an activity was refused. The reason is for the log; the caller
/// answers with a bare 401 or 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("unauthenticated: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
}

#[async_trait]
pub trait InboundAuth: Send + Sync {
    /// Checks the request's `Authorization` header value against the turn.
    async fn authenticate(
        &self,
        authorization: Option<&str>,
        turn: &Turn,
    ) -> Result<(), AuthFailure>;
}

/// Accepts everything. Only the local host may use it, and only without an
/// app id.
pub struct Unauthenticated;

#[async_trait]
impl InboundAuth for Unauthenticated {
    async fn authenticate(&self, _: Option<&str>, _: &Turn) -> Result<(), AuthFailure> {
        Ok(())
    }
}
