//! The token itself: its header, its signature and its standard claims.
//!
//! - Only RS256. The Connector and Entra ID sign with it; accepting others
//!   widens the attack surface for nothing (`alg: none`, or HS256 "signed"
//!   with the public key, are refused before any key is looked up).
//! - `iss` one of the family's issuers, `aud` the bot's app id, `exp` and
//!   `nbf` with five minutes of clock skew (the industry standard the Bot
//!   Framework documents), all three of `exp`, `iss`, `aud` required.
//!
//! The family-specific claims (`serviceurl`, `appid`/`azp`, `ver`) are
//! returned for [`super::family`] to judge.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::AuthFailure;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const SKEW_SECONDS: u64 = 300;

/// What the header says, once it is known to be RS256 with a key id.
pub struct Header {
    pub kid: String,
}

/// The claims the families look at.
#[derive(Debug, Deserialize)]
pub struct Claims {
    /// The service URL a channel token was issued for. The Connector writes
    /// `serviceurl`; the documentation spells it `serviceUrl`.
    #[serde(default, rename = "serviceurl", alias = "serviceUrl")]
    pub service_url: Option<String>,
    #[serde(default)]
    pub ver: Option<String>,
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
}

fn refuse(why: impl Into<String>) -> AuthFailure {
    AuthFailure::Unauthorized(why.into())
}

/// Reads the header: RS256 and a key id, or refused.
pub fn header(token: &str) -> Result<Header, AuthFailure> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| refuse(format!("malformed token header: {}", e.kind_name())))?;
    if header.alg != Algorithm::RS256 {
        return Err(refuse(format!("algorithm {:?} is not RS256", header.alg)));
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or_else(|| refuse("the token names no key id"))?;
    Ok(Header { kid })
}

/// The issuer, read without checking anything: only to choose which
/// family's keys and rules check the token. [`verify`] checks it again.
pub fn unverified_issuer(token: &str) -> Result<String, AuthFailure> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode::<Issuer>(token)
        .map(|data| data.claims.iss)
        .map_err(|e| refuse(format!("malformed token claims: {}", e.kind_name())))
}

/// Checks the signature and the standard claims.
pub fn verify(
    token: &str,
    key: &DecodingKey,
    issuers: &[String],
    app_id: &str,
) -> Result<Claims, AuthFailure> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = SKEW_SECONDS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_audience(&[app_id]);
    validation.set_issuer(issuers);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    super::rs256::install();
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| refuse(e.kind_name()))
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    /// The problem, without the token's content.
    fn kind_name(&self) -> String {
        match self.kind() {
            ErrorKind::ExpiredSignature => "the token has expired".into(),
            ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
            ErrorKind::InvalidIssuer => "the issuer is not accepted".into(),
            ErrorKind::InvalidAudience => "the audience is not this bot".into(),
            ErrorKind::InvalidSignature => "the signature does not verify".into(),
            ErrorKind::InvalidAlgorithm => "the algorithm is not accepted".into(),
            ErrorKind::MissingRequiredClaim(claim) => format!("the `{claim}` claim is missing"),
            ErrorKind::InvalidClaimFormat(claim) => format!("the `{claim}` claim is malformed"),
            ErrorKind::Base64(_) => "malformed token (not base64url)".into(),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => "malformed token (not JSON)".into(),
            _ => "malformed token".into(),
        }
    }
}
