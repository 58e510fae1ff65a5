//! The webhook signature: `X-Nudge-Signature: sha256=<hex>` where the hex is
//! `HMAC-SHA256(secret, canonical)` and `canonical` is four lines joined by
//! `\n`, without a final newline:
//!
//! ```text
//! {X-Nudge-Timestamp}
//! {METHOD}
//! {path?query, exactly as sent}
//! {hex SHA-256 of the raw body}
//! ```
//!
//! The timestamp is inside the signed bytes, so a captured request cannot be
//! replayed later under a fresh timestamp, and the receiver refuses stale
//! ones (and, within the window, ones it has seen: the webhook gate keeps
//! their [`digest()`]). The method and the request target are inside too, so
//! a captured request cannot be replayed against another route or another
//! id: a signed `POST /api/jobs/a/complete` says nothing about job `b`.
//! Each part sits on a line of its own and the body is represented by its
//! fixed-length hash, so no byte can move from one part to another (with a
//! separator that may also occur inside a part, a signature for
//! `GET /x.<h>` with an empty body also verified `GET /x` with body `<h>.`).
//! A target never contains a newline (HTTP forbids it), a timestamp is
//! digits, a method a token. The body is hashed as raw bytes, before any
//! parsing, so there is no canonical JSON for sender and receiver to
//! disagree on. Verification is constant-time (ring's `hmac::verify`).
//!
//! The header may carry several signatures separated by commas (a sender
//! mid-rotation can sign with the old and the new secret); one that checks
//! out with any configured secret is enough.

use ring::{digest, hmac};

/// The header carrying the signed request's Unix time, in seconds.
pub const TIMESTAMP_HEADER: &str = "x-nudge-timestamp";
/// The header carrying `sha256=<hex>` signatures (several while a secret
/// is rotated).
pub const SIGNATURE_HEADER: &str = "x-nudge-signature";
/// The prefix of each signature in the header.
pub const SCHEME: &str = "sha256=";
/// Signatures read from one header at most.
const MAX_SIGNATURES: usize = 5;

/// The HMAC-SHA256 key of a secret.
pub fn key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

/// What a signature covers: the request, as [`canonical`] lays it out.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The timestamp header's value.
    pub timestamp: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The path and query, exactly as sent.
    pub target: &'a str,
    /// The body, exactly as sent.
    pub body: &'a [u8],
}

/// The bytes that are signed: timestamp, method, target and the hex
/// SHA-256 of the body, one per line.
pub fn canonical(request: &Signed<'_>) -> Vec<u8> {
    let body = digest::digest(&digest::SHA256, request.body);
    format!(
        "{}\n{}\n{}\n{}",
        request.timestamp,
        request.method,
        request.target,
        hex::encode(body.as_ref())
    )
    .into_bytes()
}

/// The hex SHA-256 of the canonical request: what the replay cache keeps.
/// Two requests have the same digest only if they are the same request
/// (timestamp, method, target and body).
pub fn digest(request: &Signed<'_>) -> String {
    hex::encode(digest::digest(&digest::SHA256, &canonical(request)).as_ref())
}

/// The header value a sender puts in `X-Nudge-Signature`.
pub fn sign(secret: &[u8], request: &Signed<'_>) -> String {
    let tag = hmac::sign(&key(secret), &canonical(request));
    format!("{SCHEME}{}", hex::encode(tag.as_ref()))
}

/// A timestamp header value: Unix seconds, digits only.
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// The index of the first key that verifies any signature in the header
/// value: which secret signed it.
pub fn verifying_key<'k>(
    keys: impl IntoIterator<Item = &'k hmac::Key>,
    request: &Signed<'_>,
    header: &str,
) -> Option<usize> {
    let message = canonical(request);
    let tags: Vec<Vec<u8>> = header
        .split(',')
        .take(MAX_SIGNATURES)
        .filter_map(|s| s.trim().strip_prefix(SCHEME))
        .filter_map(|h| hex::decode(h).ok())
        .collect();
    keys.into_iter().position(|k| {
        tags.iter()
            .any(|tag| hmac::verify(k, &message, tag).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(ts: &'a str, method: &'a str, target: &'a str, body: &'a [u8]) -> Signed<'a> {
        Signed {
            timestamp: ts,
            method,
            target,
            body,
        }
    }

    fn verifies(keys: &[hmac::Key], signed: &Signed<'_>, header: &str) -> bool {
        verifying_key(keys, signed, header).is_some()
    }

    #[test]
    fn matches_a_known_vector() {
        // body='{"text":"hi"}'
        // h=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
        // printf '%s\n%s\n%s\n%s' 1700000000 POST /api/notify "$h" \
        //   | openssl dgst -sha256 -hmac 'a-long-enough-secret' -r
        let signed = request("1700000000", "POST", "/api/notify", br#"{"text":"hi"}"#);
        assert_eq!(
            String::from_utf8(canonical(&signed)).unwrap(),
            "1700000000\nPOST\n/api/notify\n\
             e7b995efa755c5ff3b84d2188b58cb4ae916a59470eb3761df8a814f11763500"
        );
        assert_eq!(sign(b"a-long-enough-secret", &signed), KNOWN_VECTOR);
    }

    /// Computed with the openssl commands in `matches_a_known_vector`.
    const KNOWN_VECTOR: &str =
        "sha256=4314d314eb146bdd980f79d5c6e6baf2ad433ad170ab0c626090a66c81cd95db";

    #[test]
    fn a_signature_is_bound_to_its_method_and_target() {
        let secret = b"a-long-enough-secret";
        let keys = [key(secret)];
        let signed = request("5", "POST", "/api/jobs/aaaaaaaa/complete", b"{}");
        let header = sign(secret, &signed);
        assert!(verifies(&keys, &signed, &header));
        for (method, target) in [
            ("POST", "/api/jobs/bbbbbbbb/complete"),
            ("GET", "/api/jobs/aaaaaaaa/complete"),
            ("POST", "/api/jobs/aaaaaaaa/complete?x=1"),
        ] {
            assert!(
                !verifies(&keys, &request("5", method, target, b"{}"), &header),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn no_byte_moves_between_the_target_and_the_body() {
        // Under the old `ts.METHOD target.body` form these two signed the
        // same bytes: `5.GET /api/notifications/n-X.h.`.
        let secret = b"a-long-enough-secret";
        let keys = [key(secret)];
        let header = sign(
            secret,
            &request("5", "GET", "/api/notifications/n-X.h", b""),
        );
        assert!(!verifies(
            &keys,
            &request("5", "GET", "/api/notifications/n-X", b"h."),
            &header
        ));
        let moved = sign(secret, &request("5", "GET", "/a", b"\nb"));
        assert!(!verifies(&keys, &request("5", "GET", "/a\n", b"b"), &moved));
    }

    #[test]
    fn verifies_with_any_key_and_any_listed_signature() {
        let (old, new) = (b"old-secret-0123456789", b"new-secret-0123456789");
        let signed = request("5", "POST", "/api/notify", b"body");
        let header = sign(old, &signed);
        assert_eq!(
            verifying_key(&[key(new), key(old)], &signed, &header),
            Some(1)
        );
        assert!(!verifies(&[key(new)], &signed, &header));
        let both = format!("{}, {header}", sign(b"unknown-secret-0000", &signed));
        assert!(verifies(&[key(old)], &signed, &both));
        assert!(!verifies(
            &[key(old)],
            &request("6", "POST", "/api/notify", b"body"),
            &header
        ));
        assert!(!verifies(
            &[key(old)],
            &request("5", "POST", "/api/notify", b"body!"),
            &header
        ));
        assert!(!verifies(&[key(old)], &signed, "sha256=zz"));
        assert!(!verifies(
            &[key(old)],
            &signed,
            &header.replace("sha256=", "sha1=")
        ));
    }

    #[test]
    fn a_digest_names_one_request() {
        let a = request("5", "POST", "/api/notify", b"{}");
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(
            digest(&a),
            digest(&request("6", "POST", "/api/notify", b"{}"))
        );
        assert_ne!(
            digest(&a),
            digest(&request("5", "POST", "/api/notify", b"{ }"))
        );
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn timestamps_are_plain_unix_seconds() {
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000));
        for bad in ["", "-1", "+5", "1.5", " 1", "1e9", "9999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
