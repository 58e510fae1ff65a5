//! The two documents behind every inbound check: the OpenID metadata (which
//! names the key set) and the key set itself, a JWK set in which each Bot
//! Connector key also carries `endorsements`, the channel ids it may sign
//! for. `jsonwebtoken` parses the JWK; the endorsements are read with a
//! struct of our own from the same JSON.
//!
//! Keys are read one by one: a key of a type we do not use (or cannot read)
//! is skipped, not allowed to spoil the set. Only RSA signing keys become
//! [`SigningKey`]s, because only RS256 tokens are accepted.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use crate::fetch::is_secure_endpoint;

/// A key that may verify tokens, with the channels it is endorsed for.
pub struct SigningKey {
    pub decoding: DecodingKey,
    pub endorsements: Vec<String>,
}

/// Keys by key id.
pub type KeySet = HashMap<String, Arc<SigningKey>>;

#[derive(Deserialize)]
struct Metadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySetDocument {
    keys: Vec<Value>,
}

/// The parts of a key that `jsonwebtoken`'s `Jwk` does not model.
#[derive(Deserialize)]
struct Endorsed {
    #[serde(default)]
    endorsements: Vec<String>,
}

/// The `jwks_uri` of an OpenID metadata document, if it is one we may fetch.
pub fn jwks_uri(metadata: &[u8]) -> Result<String, String> {
    let metadata: Metadata =
        serde_json::from_slice(metadata).map_err(|e| format!("unreadable OpenID metadata: {e}"))?;
    if !is_secure_endpoint(&metadata.jwks_uri) {
        return Err(format!(
            "the metadata names an insecure jwks_uri `{}`",
            metadata.jwks_uri
        ));
    }
    Ok(metadata.jwks_uri)
}

/// The usable signing keys of a key set document.
pub fn parse_key_set(document: &[u8]) -> Result<KeySet, String> {
    let document: KeySetDocument =
        serde_json::from_slice(document).map_err(|e| format!("unreadable key set: {e}"))?;
    let keys: KeySet = document.keys.into_iter().filter_map(signing_key).collect();
    if keys.is_empty() {
        return Err("the key set has no usable RS256 signing key".into());
    }
    Ok(keys)
}

/// The key of one JWK, or `None` for one we must not (or cannot) use.
fn signing_key(value: Value) -> Option<(String, Arc<SigningKey>)> {
    let endorsed: Endorsed = serde_json::from_value(value.clone()).ok()?;
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
    let usable = matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
        && matches!(
            jwk.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        )
        && matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256));
    if !usable {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some((
        kid,
        Arc::new(SigningKey {
            decoding,
            endorsements: endorsed.endorsements,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A real public modulus (RFC 7517 appendix A.1's example key).
    const N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rsa(kid: &str) -> Value {
        json!({"kty": "RSA", "use": "sig", "kid": kid, "n": N, "e": "AQAB",
               "endorsements": ["msteams", "webchat"]})
    }

    #[test]
    fn reads_rsa_keys_with_their_endorsements() {
        let doc = json!({"keys": [rsa("a"), {"kty": "RSA", "kid": "b", "n": N, "e": "AQAB"}]});
        let keys = parse_key_set(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys["a"].endorsements, ["msteams", "webchat"]);
        assert!(keys["b"].endorsements.is_empty());
    }

    #[test]
    fn skips_keys_it_must_not_use() {
        let doc = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": N, "e": "AQAB"},
            {"kty": "RSA", "alg": "RS512", "kid": "rs512", "n": N, "e": "AQAB"},
            {"kty": "RSA", "n": N, "e": "AQAB"},
            {"kty": "weird"},
            rsa("good")
        ]});
        let keys = parse_key_set(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
        assert!(parse_key_set(br#"{"keys": [{"kty": "oct", "kid": "x", "k": "AA"}]}"#).is_err());
        assert!(parse_key_set(b"[]").is_err());
    }

    #[test]
    fn the_metadata_must_name_a_secure_key_set() {
        assert_eq!(
            jwks_uri(br#"{"issuer": "x", "jwks_uri": "https://login.botframework.com/v1/.well-known/keys"}"#)
                .unwrap(),
            "https://login.botframework.com/v1/.well-known/keys"
        );
        assert!(jwks_uri(br#"{"jwks_uri": "http://evil.example/keys"}"#).is_err());
        assert!(jwks_uri(b"{}").is_err());
    }
}
