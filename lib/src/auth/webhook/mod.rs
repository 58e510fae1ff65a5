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

mod settings;
pub mod signature;

use jiff::Timestamp;
use ring::{digest, hmac};
use subtle::ConstantTimeEq;

pub use settings::{Secret, WebhookSettings};

use super::bearer::bearer_token;
use super::{AuthFailure, SetupError};

/// What a webhook request carries to prove itself, read from its headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The request's method and target (path and query, as sent), which a
    /// signature covers.
    pub method: &'a str,
    /// See `method`.
    pub target: &'a str,
    /// The `Authorization` header (`Bearer <API key>`).
    pub authorization: Option<&'a str>,
    /// The `X-Nudge-Timestamp` header.
    pub timestamp: Option<&'a str>,
    /// The `X-Nudge-Signature` header.
    pub signature: Option<&'a str>,
}

/// Who a webhook request proved to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Which credential it proved itself with: `secret-{16 hex}` or
    /// `key-{16 hex}` (a digest of the secret or key, so it names the
    /// credential without revealing it), or `open` on a host that takes
    /// unsigned webhooks. Idempotency keys are kept per credential.
    pub credential: String,
    /// For a signed request, its [`signature::digest`]: the replay cache
    /// remembers it for [`WebhookPolicy::replay_window`].
    pub signed: Option<String>,
}

impl Caller {
    fn open() -> Caller {
        Caller {
            credential: "open".to_owned(),
            signed: None,
        }
    }
}

/// What a host asks of webhook requests.
pub enum WebhookPolicy {
    /// Accept everything: the local host without credentials.
    Open,
    /// Require a valid signature or API key.
    Verify(Verifier),
}

/// Checks signatures and API keys against the configured credentials.
pub struct Verifier {
    secrets: Vec<(hmac::Key, String)>,
    api_keys: Vec<(digest::Digest, String)>,
    tolerance_secs: i64,
}

impl WebhookPolicy {
    /// For the local host: verify when credentials are configured; else
    /// accept unsigned requests, and warn, only while nobody else can reach
    /// the host (no app id, loopback only). `exposure` says why someone
    /// else could, and makes that a refusal.
    pub fn local(
        settings: &WebhookSettings,
        exposure: Option<&'static str>,
    ) -> Result<WebhookPolicy, SetupError> {
        if settings.any() {
            return Ok(WebhookPolicy::Verify(Verifier::new(settings)));
        }
        if let Some(why) = exposure {
            return Err(SetupError::ExposedWebhooks(why));
        }
        tracing::warn!(
            "UNSIGNED WEBHOOKS ACCEPTED: neither {} nor {} is set, so the webhook API \
             (/api/notify, /api/jobs, /api/reminders, /api/notifications, /api/conversations) \
             takes requests from any program on this machine. Set one before exposing this host.",
            WebhookSettings::SECRETS,
            WebhookSettings::API_KEYS
        );
        Ok(WebhookPolicy::Open)
    }

    /// For cloud hosts: credentials are required.
    pub fn required(settings: &WebhookSettings) -> Result<WebhookPolicy, SetupError> {
        if settings.any() {
            Ok(WebhookPolicy::Verify(Verifier::new(settings)))
        } else {
            Err(SetupError::NoWebhookCredentials)
        }
    }

    /// Checks a request and says who sent it; `now` is injectable for
    /// tests. Whether a signed request was seen before is the caller's
    /// question (it needs the store): [`Caller::signed`].
    pub fn check(
        &self,
        presented: &Presented<'_>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Caller, AuthFailure> {
        match self {
            WebhookPolicy::Open => Ok(Caller::open()),
            WebhookPolicy::Verify(verifier) => verifier.check(presented, body, now),
        }
    }

    /// How long an accepted signature must be remembered to refuse its
    /// replays: twice the tolerance, which outlasts every moment at which
    /// its timestamp is still accepted.
    pub fn replay_window(&self) -> jiff::SignedDuration {
        match self {
            WebhookPolicy::Open => jiff::SignedDuration::ZERO,
            WebhookPolicy::Verify(v) => jiff::SignedDuration::from_secs(2 * v.tolerance_secs),
        }
    }
}

/// `{kind}-{16 hex}` (`kind`: `secret` or `key`): the name of a credential
/// in [`Caller::credential`], which does not reveal it.
pub fn credential_id(kind: &str, secret: &[u8]) -> String {
    let mut input = format!("nudge credential {kind}\n").into_bytes();
    input.extend_from_slice(secret);
    let hash = digest::digest(&digest::SHA256, &input);
    format!("{kind}-{}", hex::encode(&hash.as_ref()[..8]))
}

impl Verifier {
    fn new(settings: &WebhookSettings) -> Verifier {
        Verifier {
            secrets: settings
                .secrets
                .iter()
                .map(|s| {
                    (
                        signature::key(s.expose()),
                        credential_id("secret", s.expose()),
                    )
                })
                .collect(),
            api_keys: settings
                .api_keys
                .iter()
                .map(|k| {
                    (
                        digest::digest(&digest::SHA256, k.expose()),
                        credential_id("key", k.expose()),
                    )
                })
                .collect(),
            tolerance_secs: i64::try_from(settings.tolerance.as_secs()).unwrap_or(300),
        }
    }

    fn check(
        &self,
        presented: &Presented<'_>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Caller, AuthFailure> {
        let refuse = |why: &str| Err(AuthFailure::Unauthorized(why.to_owned()));
        if let Some(header) = presented.signature {
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
            let signed = signature::Signed {
                timestamp: raw,
                method: presented.method,
                target: presented.target,
                body,
            };
            let keys = self.secrets.iter().map(|(k, _)| k);
            let Some(index) = signature::verifying_key(keys, &signed, header) else {
                return refuse("the signature does not verify");
            };
            return Ok(Caller {
                credential: self.secrets[index].1.clone(),
                signed: Some(signature::digest(&signed)),
            });
        }
        if presented.authorization.is_some() {
            if self.api_keys.is_empty() {
                return refuse("API key presented, but no API key is configured");
            }
            let key = bearer_token(presented.authorization)?;
            let digest = digest::digest(&digest::SHA256, key.as_bytes());
            // Compare with every key, whichever matches, so timing says
            // nothing about which one (or whether any) did.
            let found = self.api_keys.iter().fold(None, |found, (k, id)| {
                let equal: bool = k.as_ref().ct_eq(digest.as_ref()).into();
                found.or(equal.then_some(id))
            });
            return match found {
                Some(id) => Ok(Caller {
                    credential: id.clone(),
                    signed: None,
                }),
                None => refuse("unknown API key"),
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

    const TARGET: &str = "/api/notify";

    fn signed<'a>(ts: &'a str, sig: &'a str) -> Presented<'a> {
        Presented {
            method: "POST",
            target: TARGET,
            timestamp: Some(ts),
            signature: Some(sig),
            ..Presented::default()
        }
    }

    fn sign(secret: &str, ts: &str, body: &[u8]) -> String {
        signature::sign(
            secret.as_bytes(),
            &signature::Signed {
                timestamp: ts,
                method: "POST",
                target: TARGET,
                body,
            },
        )
    }

    #[test]
    fn a_fresh_signature_with_any_active_secret_passes() {
        let p = policy(&[SECRET, NEXT], &[]);
        let ts = at(0).as_second().to_string();
        let mut credentials = Vec::new();
        for secret in [SECRET, NEXT] {
            let sig = sign(secret, &ts, b"{}");
            let caller = p.check(&signed(&ts, &sig), b"{}", at(10)).unwrap();
            assert!(caller.credential.starts_with("secret-"), "{caller:?}");
            assert!(!caller.credential.contains(secret));
            assert_eq!(caller.signed.as_ref().map(String::len), Some(64));
            credentials.push(caller.credential);
        }
        assert_ne!(
            credentials[0], credentials[1],
            "each secret is its own credential"
        );
        let wrong = sign("some-other-secret-000000", &ts, b"{}");
        assert!(p.check(&signed(&ts, &wrong), b"{}", at(10)).is_err());
        assert_eq!(p.replay_window(), jiff::SignedDuration::from_secs(600));
    }

    #[test]
    fn stale_future_and_re_timestamped_requests_fail() {
        let p = policy(&[SECRET], &[]);
        let ts = at(0).as_second().to_string();
        let sig = sign(SECRET, &ts, b"{}");
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
        let sig = sign(KEY, "1", b"");
        assert!(
            p.check(&signed("1", &sig), b"", at(0)).is_err(),
            "no secrets configured"
        );
        assert_eq!(
            WebhookPolicy::Open.check(&Presented::default(), b"", at(0)),
            Ok(Caller::open())
        );
        let other = policy(&[], &["api-key-fedcba9876543210"]);
        let id = |p: &WebhookPolicy| {
            p.check(
                &Presented {
                    authorization: Some("Bearer api-key-fedcba9876543210"),
                    ..Presented::default()
                },
                b"",
                at(0),
            )
            .map(|c| c.credential)
        };
        assert!(id(&other).unwrap().starts_with("key-"));
        assert!(id(&p).is_err());
        assert!(matches!(
            WebhookPolicy::required(&WebhookSettings::default()),
            Err(SetupError::NoWebhookCredentials)
        ));
    }
}
