//! RS256 signature checks for `jsonwebtoken`, on ring.
//!
//! `jsonwebtoken` parses the token and checks its claims, and asks a
//! process-wide crypto provider to check the signature. Its two built-in
//! providers are aws-lc-rs (a second crypto library beside ring, the one
//! rustls uses here: most of a megabyte per Lambda bootstrap, #13) and the
//! RustCrypto RSA crates; so this one, on ring, does only what nudge asks
//! of it: RS256 verification with an RSA public key (from a JWK's `n` and
//! `e`, or DER). Every other algorithm, and signing, is refused with an
//! error, never a panic; [`super::claims`] refuses other algorithms before
//! any key is looked up anyway.
//!
//! [`install`] runs before every signature check. It keeps a provider the
//! process installed before (a library user's own), which the check then
//! uses.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: no_signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils {
        extract_rsa_public_key_components: |_| Err(ErrorKind::InvalidAlgorithm.into()),
        extract_ec_public_key_coordinates: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
        compute_digest,
    },
};

/// Makes ring the process's provider for `jsonwebtoken`, unless one is
/// installed already.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: the process chose its own first, which is then used.
        let _ = PROVIDER.install_default();
    });
}

fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Rs256(key.clone())))
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Vec<u8> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
    };
    ring::digest::digest(algorithm, data).as_ref().to_vec()
}

/// An RS256 check with one public key.
struct Rs256(DecodingKey);

impl jsonwebtoken::signature::Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), jsonwebtoken::signature::Error> {
        let parameters = &signature::RSA_PKCS1_2048_8192_SHA256;
        let checked = match self.0.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(parameters, message, tag)
            }
            DecodingKeyKind::SecretOrDer(der) => {
                UnparsedPublicKey::new(parameters, der).verify(message, tag)
            }
        };
        checked.map_err(|_| jsonwebtoken::signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use ring::signature::RsaKeyPair;

    use super::*;

    /// The authentication tests' channel key (PKCS#8).
    const KEY_PEM: &str = include_str!("../../../../tests/fixtures/jwt/channel-key.pem");

    fn key_pair() -> RsaKeyPair {
        let body: String = KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap()
    }

    /// `{"alg":"RS256"}.{"sub":"x","exp":..}` signed with the key.
    fn token(keys: &RsaKeyPair) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"x","exp":4102444800}"#);
        let message = format!("{header}.{claims}");
        let mut tag = vec![0; keys.public().modulus_len()];
        let random = ring::rand::SystemRandom::new();
        keys.sign(
            &signature::RSA_PKCS1_SHA256,
            &random,
            message.as_bytes(),
            &mut tag,
        )
        .unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    fn decoding_key(keys: &RsaKeyPair) -> DecodingKey {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(keys.public());
        DecodingKey::from_rsa_raw_components(&public.n, &public.e)
    }

    fn decode(token: &str, key: &DecodingKey) -> Result<serde_json::Value, ErrorKind> {
        install();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| e.into_kind())
    }

    #[test]
    fn an_rs256_signature_by_the_key_verifies() {
        let keys = key_pair();
        let claims = decode(&token(&keys), &decoding_key(&keys)).unwrap();
        assert_eq!(claims["sub"], "x");
    }

    #[test]
    fn a_changed_signature_or_message_is_refused() {
        let keys = key_pair();
        let key = decoding_key(&keys);
        let good = token(&keys);
        let (message, tag) = good.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(tag).unwrap();
        raw[0] ^= 1;
        let forged_tag = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&raw));
        assert_eq!(decode(&forged_tag, &key), Err(ErrorKind::InvalidSignature));
        let other_claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"y","exp":4102444800}"#);
        let (header, _) = message.split_once('.').unwrap();
        let forged_claims = format!("{header}.{other_claims}.{tag}");
        assert_eq!(
            decode(&forged_claims, &key),
            Err(ErrorKind::InvalidSignature)
        );
    }

    #[test]
    fn other_algorithms_and_signing_are_refused_without_a_panic() {
        let key = decoding_key(&key_pair());
        for algorithm in [Algorithm::HS256, Algorithm::RS512, Algorithm::ES256] {
            let refused = verifier(&algorithm, &key).err().map(|e| e.into_kind());
            assert_eq!(refused, Some(ErrorKind::InvalidAlgorithm), "{algorithm:?}");
        }
        let signing = no_signer(&Algorithm::RS256, &EncodingKey::from_secret(b"k"));
        assert!(signing.is_err());
    }
}
