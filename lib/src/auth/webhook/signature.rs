//! The webhook signature: `X-Nudge-Signature: sha256=<hex>` where the hex is
//! `HMAC-SHA256(secret, "{X-Nudge-Timestamp}.{METHOD} {path?query}.{raw body}")`.
//!
//! The timestamp is inside the signed bytes, so a captured request cannot be
//! replayed later under a fresh timestamp, and the receiver refuses stale
//! ones. The method and the request target (path and query, as sent) are
//! inside too, so a captured request cannot be replayed against another
//! route or another id within the window either: a signed
//! `POST /api/jobs/a/complete` says nothing about job `b`. The body is signed as raw bytes, before any parsing, so there is no
//! canonical form for sender and receiver to disagree on. Verification is
//! constant-time (aws-lc's `hmac::verify`), so timing reveals nothing about
//! how much of a guess was right.
//!
//! The header may carry several signatures separated by commas (a sender
//! mid-rotation can sign with the old and the new secret); one that checks
//! out with any configured secret is enough.

use aws_lc_rs::hmac;

pub const TIMESTAMP_HEADER: &str = "x-nudge-timestamp";
pub const SIGNATURE_HEADER: &str = "x-nudge-signature";
/// The prefix of each signature in the header.
pub const SCHEME: &str = "sha256=";
/// Signatures read from one header at most.
const MAX_SIGNATURES: usize = 5;

pub fn key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

/// The bytes that are signed. `target` is `"{METHOD} {path?query}"`.
fn message(timestamp: &str, target: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + target.len() + 2 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(target.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

/// The request target that is signed: `"{METHOD} {path?query}"`.
pub fn target(method: &str, path_and_query: &str) -> String {
    format!("{method} {path_and_query}")
}

/// The header value a sender puts in `X-Nudge-Signature`.
pub fn sign(secret: &[u8], timestamp: &str, target: &str, body: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), &message(timestamp, target, body));
    format!("{SCHEME}{}", hex::encode(tag.as_ref()))
}

/// A timestamp header value: Unix seconds, digits only.
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// Whether any signature in the header value verifies with any key.
pub fn verifies(
    keys: &[hmac::Key],
    timestamp: &str,
    target: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let message = message(timestamp, target, body);
    header
        .split(',')
        .take(MAX_SIGNATURES)
        .filter_map(|s| s.trim().strip_prefix(SCHEME))
        .filter_map(|h| hex::decode(h).ok())
        .any(|tag| keys.iter().any(|k| hmac::verify(k, &message, &tag).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "POST /api/notify";

    #[test]
    fn matches_a_known_vector() {
        // printf '893a552562d1e0a834414ac8a282ab9fff05699c527c0ccd2297bd78f44bb8b6.893a552562d1e0a834414ac8a282ab9fff05699c527c0ccd2297bd78f44bb8b6 893a552562d1e0a834414ac8a282ab9fff05699c527c0ccd2297bd78f44bb8b6.893a552562d1e0a834414ac8a282ab9fff05699c527c0ccd2297bd78f44bb8b6' 1700000000 POST /api/notify '{"text":"hi"}' \
        //   | openssl dgst -sha256 -hmac 'a-long-enough-secret' -r
        assert_eq!(
            sign(
                b"a-long-enough-secret",
                "1700000000",
                &target("POST", "/api/notify"),
                br#"{"text":"hi"}"#
            ),
            "sha256=893a552562d1e0a834414ac8a282ab9fff05699c527c0ccd2297bd78f44bb8b6"
        );
    }

    #[test]
    fn a_signature_is_bound_to_its_method_and_target() {
        let secret = b"a-long-enough-secret";
        let signed = sign(secret, "5", "POST /api/jobs/aaaaaaaa/complete", b"{}");
        let keys = [key(secret)];
        assert!(verifies(
            &keys,
            "5",
            "POST /api/jobs/aaaaaaaa/complete",
            b"{}",
            &signed
        ));
        for other in [
            "POST /api/jobs/bbbbbbbb/complete",
            "GET /api/jobs/aaaaaaaa/complete",
            "POST /api/jobs/aaaaaaaa/complete?x=1",
        ] {
            assert!(!verifies(&keys, "5", other, b"{}", &signed), "{other}");
        }
    }

    #[test]
    fn verifies_with_any_key_and_any_listed_signature() {
        let (old, new) = (b"old-secret-0123456789", b"new-secret-0123456789");
        let signed = sign(old, "5", T, b"body");
        assert!(verifies(&[key(new), key(old)], "5", T, b"body", &signed));
        assert!(!verifies(&[key(new)], "5", T, b"body", &signed));
        let both = format!(
            "{}, {signed}",
            sign(b"unknown-secret-0000", "5", T, b"body")
        );
        assert!(verifies(&[key(old)], "5", T, b"body", &both));
        assert!(!verifies(&[key(old)], "6", T, b"body", &signed));
        assert!(!verifies(&[key(old)], "5", T, b"body!", &signed));
        assert!(!verifies(&[key(old)], "5", T, b"body", "sha256=zz"));
        assert!(!verifies(
            &[key(old)],
            "5",
            T,
            b"body",
            &signed.replace("sha256=", "sha1=")
        ));
    }

    #[test]
    fn timestamps_are_plain_unix_seconds() {
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000));
        for bad in ["", "-1", "+5", "1.5", " 1", "1e9", "9999999999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
