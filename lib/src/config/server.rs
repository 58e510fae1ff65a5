//! The bounds of the local host's HTTP server (`NUDGE_HTTP_*`), read with
//! the rest of the configuration; the server itself is
//! `crate::local::server` (feature `local`), which says what each bound
//! defends against.

use std::time::Duration;

use super::{number, ConfigError, Env};

/// The bounds of the local host's HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// How long a client may take to send the headers
    /// (`NUDGE_HTTP_HEADER_TIMEOUT_SECS`).
    pub header_timeout: Duration,
    /// How long it may take to send the body (`NUDGE_HTTP_BODY_TIMEOUT_SECS`).
    pub body_timeout: Duration,
    /// How long a whole request may take (`NUDGE_HTTP_REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// Connections served at once; more wait.
    pub max_connections: usize,
    /// How long requests in flight may finish at shutdown
    /// (`NUDGE_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl ServerSettings {
    /// Reads them; the defaults unless set.
    pub fn from_env(env: &dyn Env) -> Result<ServerSettings, ConfigError> {
        let d = ServerSettings::default();
        let seconds = |variable, default: Duration| {
            number(
                env,
                variable,
                default.as_secs(),
                |n| (1..=600).contains(n),
                "a number of seconds from 1 to 600",
            )
            .map(Duration::from_secs)
        };
        Ok(ServerSettings {
            header_timeout: seconds("NUDGE_HTTP_HEADER_TIMEOUT_SECS", d.header_timeout)?,
            body_timeout: seconds("NUDGE_HTTP_BODY_TIMEOUT_SECS", d.body_timeout)?,
            request_timeout: seconds("NUDGE_HTTP_REQUEST_TIMEOUT_SECS", d.request_timeout)?,
            max_connections: number(
                env,
                "NUDGE_HTTP_MAX_CONNECTIONS",
                d.max_connections,
                |n| (1..=65_536).contains(n),
                "a number from 1 to 65536",
            )?,
            shutdown_grace: seconds("NUDGE_SHUTDOWN_GRACE_SECS", d.shutdown_grace)?,
        })
    }
}
