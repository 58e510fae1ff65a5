//! A fake Bot Framework identity for the authentication tests: an HTTP
//! server on a random loopback port that publishes OpenID metadata and key
//! sets for both token families (channel keys with `endorsements`, Emulator
//! keys without), signed-token minting with the test keys under
//! `tests/fixtures/jwt`, and the forgeries an attacker would try.
//!
//! Its key sets can change while a test runs ([`OpenIdServer::publish`]), and
//! it counts key-set fetches, so key rotation and refresh rate limiting can
//! be observed from outside.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nudge::auth::InboundSettings;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde_json::{json, Value};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;

use crate::server::serve_loopback;

/// The app id the test bot runs as.
pub const APP_ID: &str = "5e1f0000-test-4b07-9a57-nudgebot0001";
/// The issuer of channel tokens.
pub const CHANNEL_ISSUER: &str = "https://api.botframework.com";
/// An Emulator issuer (v1 tokens of the botframework.com tenant).
pub const EMULATOR_ISSUER_V1: &str =
    "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/";
/// An Emulator issuer (v2 tokens).
pub const EMULATOR_ISSUER_V2: &str =
    "https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a/v2.0";

/// Key ids the server publishes at start.
pub const CHANNEL_KID: &str = "channel-key-1";
pub const EMULATOR_KID: &str = "emulator-key-1";
/// A channel key endorsed only for `slack`.
pub const SLACK_ONLY_KID: &str = "slack-only-key";
/// Channels the main channel key is endorsed for.
pub const ENDORSED: &[&str] = &["emulator", "msteams", "webchat"];

/// An RSA key pair from the fixtures. Tokens are signed by hand with ring
/// (header, claims, RS256 signature), the way any issuer makes them.
pub struct TestKey {
    pair: RsaKeyPair,
    jwk: Value,
}

impl TestKey {
    fn from_pem(pem: &str) -> TestKey {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).expect("a PKCS#8 fixture");
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("an RSA key");
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        });
        TestKey { pair, jwk }
    }

    /// The key the server publishes at start (under several key ids).
    pub fn main() -> TestKey {
        TestKey::from_pem(include_str!("../fixtures/jwt/channel-key.pem"))
    }

    /// A second key, published only when a test rotates to it.
    pub fn rotated() -> TestKey {
        TestKey::from_pem(include_str!("../fixtures/jwt/rotated-key.pem"))
    }

    /// The public key as a JWK with this key id and endorsements.
    pub fn published(&self, kid: &str, endorsements: &[&str]) -> Value {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        if !endorsements.is_empty() {
            jwk["endorsements"] = json!(endorsements);
        }
        jwk
    }

    /// An RS256 token with this key, naming `kid`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let message = format!("{}.{}", b64(&header), b64(claims));
        let mut tag = vec![0; self.pair.public().modulus_len()];
        let random = ring::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &random, message.as_bytes(), &mut tag)
            .expect("sign a test token");
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag))
    }
}

/// The public key of [`TestKey::main`], PEM-encoded: what an attacker would
/// use as an HMAC secret in the algorithm-confusion attack.
pub const MAIN_PUBLIC_PEM: &str = include_str!("../fixtures/jwt/channel-key.pub.pem");

/// Which key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Channel,
    Emulator,
}

#[derive(Default)]
struct Inner {
    channel: Mutex<Vec<Value>>,
    emulator: Mutex<Vec<Value>>,
    channel_fetches: AtomicUsize,
    emulator_fetches: AtomicUsize,
}

impl Inner {
    fn keys(&self, family: Family) -> &Mutex<Vec<Value>> {
        match family {
            Family::Channel => &self.channel,
            Family::Emulator => &self.emulator,
        }
    }

    fn fetches(&self, family: Family) -> &AtomicUsize {
        match family {
            Family::Channel => &self.channel_fetches,
            Family::Emulator => &self.emulator_fetches,
        }
    }
}

pub struct OpenIdServer {
    base_url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl OpenIdServer {
    /// Starts the server with [`TestKey::main`] published as [`CHANNEL_KID`]
    /// (endorsed for [`ENDORSED`]) and [`SLACK_ONLY_KID`] (endorsed for
    /// `slack`), and as [`EMULATOR_KID`] in the Emulator set.
    pub async fn start() -> OpenIdServer {
        let inner = Arc::new(Inner::default());
        let main = TestKey::main();
        *inner.channel.lock().expect("lock") = vec![
            main.published(CHANNEL_KID, ENDORSED),
            main.published(SLACK_ONLY_KID, &["slack"]),
        ];
        *inner.emulator.lock().expect("lock") = vec![main.published(EMULATOR_KID, &[])];
        let (base_url, server) = serve_loopback(|base_url| {
            Router::new()
                .route("/{family}/metadata", get(metadata))
                .route("/{family}/keys", get(keys))
                .with_state((inner.clone(), base_url.to_owned()))
        })
        .await;
        OpenIdServer {
            base_url,
            inner,
            server,
        }
    }

    pub fn metadata_url(&self, family: Family) -> String {
        format!("{}/{}/metadata", self.base_url, name(family))
    }

    /// Inbound settings pointing at this server, with a short cooldown so
    /// rotation tests need not wait minutes.
    pub fn inbound_settings(&self, cooldown: Duration) -> InboundSettings {
        InboundSettings {
            channel_metadata_url: self.metadata_url(Family::Channel),
            emulator_metadata_url: self.metadata_url(Family::Emulator),
            unknown_key_cooldown: cooldown,
            ..InboundSettings::default()
        }
    }

    /// The environment a host needs to validate against this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                InboundSettings::CHANNEL_METADATA_LEGACY,
                self.metadata_url(Family::Channel),
            ),
            (
                InboundSettings::EMULATOR_METADATA,
                self.metadata_url(Family::Emulator),
            ),
        ]
    }

    /// Adds a key to a family's set.
    pub fn publish(&self, family: Family, jwk: Value) {
        self.inner.keys(family).lock().expect("lock").push(jwk);
    }

    /// How often a family's key set was fetched.
    pub fn fetches(&self, family: Family) -> usize {
        self.inner.fetches(family).load(Ordering::SeqCst)
    }
}

impl Drop for OpenIdServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn name(family: Family) -> &'static str {
    match family {
        Family::Channel => "channel",
        Family::Emulator => "emulator",
    }
}

fn family(name: &str) -> Option<Family> {
    match name {
        "channel" => Some(Family::Channel),
        "emulator" => Some(Family::Emulator),
        _ => None,
    }
}

type ServerState = (Arc<Inner>, String);

async fn metadata(
    State((_, base_url)): State<ServerState>,
    Path(which): Path<String>,
) -> Json<Value> {
    Json(json!({
        "issuer": CHANNEL_ISSUER,
        "jwks_uri": format!("{base_url}/{which}/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn keys(State((inner, _)): State<ServerState>, Path(which): Path<String>) -> Json<Value> {
    let Some(family) = family(&which) else {
        return Json(json!({"keys": []}));
    };
    inner.fetches(family).fetch_add(1, Ordering::SeqCst);
    let keys = inner.keys(family).lock().expect("lock").clone();
    Json(json!({ "keys": keys }))
}

/// Seconds since the epoch, plus `offset`.
pub fn now_plus(offset: i64) -> i64 {
    jiff::Timestamp::now().as_second() + offset
}

/// The claims of a valid channel token for an activity from `service_url`.
pub fn channel_claims(service_url: &str) -> Value {
    json!({
        "iss": CHANNEL_ISSUER,
        "aud": APP_ID,
        "exp": now_plus(3600),
        "nbf": now_plus(-60),
        "serviceurl": service_url,
    })
}

/// The claims of a valid v1 Emulator token.
pub fn emulator_claims_v1() -> Value {
    json!({
        "iss": EMULATOR_ISSUER_V1,
        "aud": APP_ID,
        "exp": now_plus(3600),
        "nbf": now_plus(-60),
        "ver": "1.0",
        "appid": APP_ID,
    })
}

/// The claims of a valid v2 Emulator token.
pub fn emulator_claims_v2() -> Value {
    json!({
        "iss": EMULATOR_ISSUER_V2,
        "aud": APP_ID,
        "exp": now_plus(3600),
        "nbf": now_plus(-60),
        "ver": "2.0",
        "azp": APP_ID,
    })
}

/// A valid channel token for `service_url`, as an `Authorization` value.
pub fn channel_bearer(service_url: &str) -> String {
    format!(
        "Bearer {}",
        TestKey::main().sign(CHANNEL_KID, &channel_claims(service_url))
    )
}

/// A valid v1 Emulator token, as an `Authorization` value.
pub fn emulator_bearer() -> String {
    format!(
        "Bearer {}",
        TestKey::main().sign(EMULATOR_KID, &emulator_claims_v1())
    )
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// A token with `alg: none` and no signature.
pub fn unsigned_token(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": CHANNEL_KID})),
        b64(claims)
    )
}

/// A token "signed" with HS256 using the published public key as the HMAC
/// secret: the algorithm-confusion attack.
pub fn hs256_with_public_key(claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": CHANNEL_KID});
    let message = format!("{}.{}", b64(&header), b64(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, MAIN_PUBLIC_PEM.as_bytes());
    let tag = ring::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// `token` with its payload swapped for `claims`, the signature kept.
pub fn tampered(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    let _payload = parts.next();
    let signature = parts.next().unwrap_or_default();
    format!("{header}.{}.{signature}", b64(claims))
}
