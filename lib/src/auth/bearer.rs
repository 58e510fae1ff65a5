//! `Authorization: Bearer <token>`, read strictly: one scheme, one token,
//! nothing absurd. Shared by the JWT check and webhook API keys.

use super::AuthFailure;

/// Longest credential accepted. Bot Framework tokens are 1–2 KB; anything
/// near this is not a token.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The token of a bearer `Authorization` header value. The scheme is
/// case-insensitive (RFC 9110 §11.1).
pub(crate) fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthFailure> {
    let unauthorized = |why: &str| AuthFailure::Unauthorized(why.to_owned());
    let value = authorization.ok_or_else(|| unauthorized("no Authorization header"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthorized("Authorization is not `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized("Authorization scheme is not Bearer"));
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(unauthorized("Authorization is not `Bearer <token>`"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(unauthorized("bearer token too long"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_bearer_token() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic abc"),
            Some("Bearer a b"),
            Some("abc"),
        ] {
            assert!(bearer_token(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert!(bearer_token(Some(&long)).is_err());
    }
}
