//! Webhook authentication: external systems prove themselves with an HMAC
//! signature of the raw body ([`signature`]) or a bearer API key.
//!
//! A signature is the stronger choice: the secret never travels, a captured
//! request is useless after the replay window, and the body cannot be
//! altered. An API key is for senders that cannot compute an HMAC; it is
//! compared in constant time (as SHA-256 digests, so lengths leak nothing
//! either). Both accept several active values so they can be rotated.
//!
//! [`WebhookPolicy::Open`] accepts unsigned requests. Only the local host
//! uses it, only when no credential is configured, and it says so at
//! start-up; cloud hosts call [`WebhookPolicy::required`], which refuses to
//! build without credentials.

pub mod settings;
pub mod signature;

use aws_lc_rs::{constant_time, digest, hmac};
use jiff::Timestamp;

pub use settings::{Secret, WebhookSettings};

use super::bearer::bearer_token;
use super::{AuthFailure, SetupError};

/// What a webhook request carries to prove itself, read from its headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// `"{METHOD} {path?query}"` of the request, which a signature covers.
    pub target: &'a str,
    pub authorization: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

pub enum WebhookPolicy {
    /// Accept everything: the local host without credentials.
    Open,
    /// Require a valid signature or API key.
    Verify(Verifier),
}

pub struct Verifier {
    secrets: Vec<hmac::Key>,
    api_keys: Vec<digest::Digest>,
    tolerance_secs: i64,
}

impl WebhookPolicy {
    /// For the local host: verify when credentials are configured, else
    /// accept unsigned requests and warn.
    pub fn local(settings: &WebhookSettings) -> WebhookPolicy {
        if settings.any() {
            return WebhookPolicy::Verify(Verifier::new(settings));
        }
        tracing::warn!(
            "UNSIGNED WEBHOOKS ACCEPTED: neither {} nor {} is set, so the webhook API \
             (/api/notify, /api/jobs, /api/reminders, /api/notifications, /api/conversations) \
             takes requests from anyone who can reach this port. Set a secret before exposing \
             this host.",
            WebhookSettings::SECRETS,
            WebhookSettings::API_KEYS
        );
        WebhookPolicy::Open
    }

    /// For cloud hosts: credentials are required.
    pub fn required(settings: &WebhookSettings) -> Result<WebhookPolicy, SetupError> {
        if settings.any() {
            Ok(WebhookPolicy::Verify(Verifier::new(settings)))
        } else {
            Err(SetupError::NoWebhookCredentials)
        }
    }

    /// Checks a request; `now` is injectable for tests.
    pub fn check(
        &self,
        presented: &Presented<'_>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), AuthFailure> {
        match self {
            WebhookPolicy::Open => Ok(()),
            WebhookPolicy::Verify(verifier) => verifier.check(presented, body, now),
        }
    }
}

impl Verifier {
    fn new(settings: &WebhookSettings) -> Verifier {
        Verifier {
            secrets: settings
                .secrets
                .iter()
                .map(|s| signature::key(s.expose()))
                .collect(),
            api_keys: settings
                .api_keys
                .iter()
                .map(|k| digest::digest(&digest::SHA256, k.expose()))
                .collect(),
            tolerance_secs: i64::try_from(settings.tolerance.as_secs()).unwrap_or(300),
        }
    }

    fn check(
        &self,
        presented: &Presented<'_>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), AuthFailure> {
        let refuse = |why: &str| Err(AuthFailure::Unauthorized(why.to_owned()));
        if let Some(signature) = presented.signature {
            if self.secrets.is_empty() {
                return refuse("signed request, but no signing secret is configured");
            }
            let Some(raw) = presented.timestamp else {
                return refuse("signed request without a timestamp");
            };
            let Some(at) = signature::parse_timestamp(raw) else {
                return refuse("the timestamp is not Unix seconds");
            };
            if (now.as_second() - at).abs() > self.tolerance_secs {
                return refuse("the timestamp is outside the replay window");
            }
            if !signature::verifies(&self.secrets, raw, presented.target, body, signature) {
                return refuse("the signature does not verify");
            }
            return Ok(());
        }
        if presented.authorization.is_some() {
            if self.api_keys.is_empty() {
                return refuse("API key presented, but no API key is configured");
            }
            let key = bearer_token(presented.authorization)?;
            let digest = digest::digest(&digest::SHA256, key.as_bytes());
            let known = self.api_keys.iter().fold(false, |found, k| {
                found | constant_time::verify_slices_are_equal(k.as_ref(), digest.as_ref()).is_ok()
            });
            return if known {
                Ok(())
            } else {
                refuse("unknown API key")
            };
        }
        refuse("neither a signature nor an API key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "webhook-secret-0123456789";
    const NEXT: &str = "webhook-secret-next-98765";
    const KEY: &str = "api-key-0123456789abcdef";

    fn policy(secrets: &[&str], keys: &[&str]) -> WebhookPolicy {
        WebhookPolicy::required(&WebhookSettings {
            secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            api_keys: keys.iter().map(|s| Secret::new(*s)).collect(),
            tolerance: Duration::from_secs(300),
        })
        .unwrap_or_else(|_| panic!("credentials were given"))
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    const TARGET: &str = "POST /api/notify";

    fn signed<'a>(ts: &'a str, sig: &'a str) -> Presented<'a> {
        Presented {
            target: TARGET,
            timestamp: Some(ts),
            signature: Some(sig),
            ..Presented::default()
        }
    }

    #[test]
    fn a_fresh_signature_with_any_active_secret_passes() {
        let p = policy(&[SECRET, NEXT], &[]);
        let ts = at(0).as_second().to_string();
        for secret in [SECRET, NEXT] {
            let sig = signature::sign(secret.as_bytes(), &ts, TARGET, b"{}");
            assert_eq!(p.check(&signed(&ts, &sig), b"{}", at(10)), Ok(()));
        }
        let wrong = signature::sign(b"some-other-secret-000000", &ts, TARGET, b"{}");
        assert!(p.check(&signed(&ts, &wrong), b"{}", at(10)).is_err());
    }

    #[test]
    fn stale_future_and_re_timestamped_requests_fail() {
        let p = policy(&[SECRET], &[]);
        let ts = at(0).as_second().to_string();
        let sig = signature::sign(SECRET.as_bytes(), &ts, TARGET, b"{}");
        assert!(
            p.check(&signed(&ts, &sig), b"{}", at(301)).is_err(),
            "stale"
        );
        assert!(
            p.check(&signed(&ts, &sig), b"{}", at(-301)).is_err(),
            "future"
        );
        let replayed = at(200).as_second().to_string();
        assert!(
            p.check(&signed(&replayed, &sig), b"{}", at(200)).is_err(),
            "new timestamp, old signature"
        );
        assert!(p
            .check(
                &Presented {
                    signature: Some(&sig),
                    ..Presented::default()
                },
                b"{}",
                at(0)
            )
            .is_err());
    }

    #[test]
    fn api_keys_and_unsigned_requests() {
        let p = policy(&[], &[KEY]);
        let bearer = format!("Bearer {KEY}");
        let with = |a: &str| {
            p.check(
                &Presented {
                    authorization: Some(a),
                    ..Presented::default()
                },
                b"",
                at(0),
            )
            .is_ok()
        };
        assert!(with(&bearer));
        assert!(!with("Bearer api-key-0123456789abcdeX"));
        assert!(!with(&format!("Basic {KEY}")));
        assert!(p.check(&Presented::default(), b"", at(0)).is_err());
        let sig = signature::sign(KEY.as_bytes(), "1", TARGET, b"");
        assert!(
            p.check(&signed("1", &sig), b"", at(0)).is_err(),
            "no secrets configured"
        );
        assert!(WebhookPolicy::Open
            .check(&Presented::default(), b"", at(0))
            .is_ok());
        assert!(matches!(
            WebhookPolicy::required(&WebhookSettings::default()),
            Err(SetupError::NoWebhookCredentials)
        ));
    }
}
