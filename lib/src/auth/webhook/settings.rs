//! Webhook credentials, from the environment: HMAC secrets, API keys, and
//! how old a signed request may be.
//!
//! Secrets and keys are comma-separated lists so that a rotation can run
//! without downtime: add the new one, move the senders over, remove the old
//! one. Each must be at least [`MIN_SECRET_LEN`] characters: short shared
//! secrets can be brute-forced offline from one signed request.

use std::time::Duration;

use crate::env::{number, ConfigError, Env};
pub use crate::secret::Secret;

/// Shortest secret or API key accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// The webhook credentials and the signed timestamps' tolerance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// HMAC-SHA256 secrets; a request signed with any of them is accepted.
    pub secrets: Vec<Secret>,
    /// Bearer API keys; a request bearing any of them is accepted.
    pub api_keys: Vec<Secret>,
    /// How far a signed request's timestamp may be from now, either way.
    pub tolerance: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            secrets: Vec::new(),
            api_keys: Vec::new(),
            tolerance: Duration::from_secs(300),
        }
    }
}

impl WebhookSettings {
    /// The variable holding the signing secrets (comma-separated).
    pub const SECRETS: &'static str = "NUDGE_WEBHOOK_SECRETS";
    /// The variable holding the API keys (comma-separated).
    pub const API_KEYS: &'static str = "NUDGE_WEBHOOK_API_KEYS";
    /// The variable holding the tolerance, in seconds.
    pub const TOLERANCE: &'static str = "NUDGE_WEBHOOK_TOLERANCE_SECS";

    /// Reads them; secrets shorter than 16 characters are refused.
    pub fn from_env(env: &dyn Env) -> Result<WebhookSettings, ConfigError> {
        let tolerance = number(
            env,
            Self::TOLERANCE,
            300u64,
            |s| (30..=900).contains(s),
            "a number of seconds from 30 to 900",
        )?;
        Ok(WebhookSettings {
            secrets: secrets(env, Self::SECRETS)?,
            api_keys: secrets(env, Self::API_KEYS)?,
            tolerance: Duration::from_secs(tolerance),
        })
    }

    /// Whether any credential is configured.
    pub fn any(&self) -> bool {
        !self.secrets.is_empty() || !self.api_keys.is_empty()
    }
}

fn secrets(env: &dyn Env, variable: &'static str) -> Result<Vec<Secret>, ConfigError> {
    let Some(raw) = env.get(variable) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() < MIN_SECRET_LEN || s.chars().any(char::is_control) {
                Err(ConfigError {
                    variable,
                    problem: format!(
                        "each value must be at least {MIN_SECRET_LEN} printable characters"
                    ),
                })
            } else {
                Ok(Secret::new(s))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_and_refuses_weak_secrets() {
        let s = WebhookSettings::from_env(&[
            (
                "NUDGE_WEBHOOK_SECRETS",
                "0123456789abcdef, fedcba9876543210",
            ),
            ("NUDGE_WEBHOOK_TOLERANCE_SECS", "120"),
        ])
        .unwrap();
        assert_eq!(s.secrets.len(), 2);
        assert!(s.api_keys.is_empty() && s.any());
        assert_eq!(s.tolerance, Duration::from_secs(120));
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
        assert!(!WebhookSettings::from_env(&[("X", "")]).unwrap().any());
        let weak = WebhookSettings::from_env(&[("NUDGE_WEBHOOK_API_KEYS", "short")]).unwrap_err();
        assert_eq!(weak.variable, "NUDGE_WEBHOOK_API_KEYS");
        let slow = WebhookSettings::from_env(&[("NUDGE_WEBHOOK_TOLERANCE_SECS", "86400")]);
        assert!(slow.is_err());
    }
}
