//! Account shared access signatures, signed with the account key.
//!
//! The string to sign is the one Microsoft documents for account SAS from
//! service version 2020-12-06 on (name, permissions, services, resource
//! types, start, expiry, IP, protocol, version, encryption scope, each on
//! its own line), signed with HMAC-SHA256 under the base64-decoded key.
//! Each signature is short-lived and made when a request is sent, so a
//! leaked URL is worth little and a long-running process never holds a
//! stale one.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jiff::Timestamp;
use ring::hmac;

use crate::secret::Secret;

/// The service version the signature is computed for (`sv`).
pub const SIGNED_VERSION: &str = "2022-11-02";

/// The query parameters an account SAS consists of.
pub const FIELDS: [&str; 8] = ["sv", "ss", "srt", "sp", "st", "se", "spr", "sig"];

/// How long a signature lasts after the request it is made for.
const LIFETIME: Duration = Duration::from_secs(15 * 60);

/// How far the account's clock may be behind ours (`st` is that far back).
const SKEW: Duration = Duration::from_secs(5 * 60);

/// The key's bytes, if it is base64.
pub fn decode_key(key: &str) -> Option<Vec<u8>> {
    STANDARD.decode(key.trim()).ok()
}

/// The query string (without `?`) of an account SAS for `account` valid
/// around `now`: queue and table services, every resource type, the
/// permissions nudge uses (read, write, delete, list, add, create,
/// update, process), HTTPS or HTTP (Azurite is plain HTTP).
pub fn account_sas(account: &str, key: &Secret, now: Timestamp) -> String {
    let fields = Fields {
        permissions: "rwdlacup",
        services: "qt",
        resource_types: "sco",
        start: at(now, -(SKEW.as_secs() as i64)),
        expiry: at(now, LIFETIME.as_secs() as i64),
        protocol: "https,http",
    };
    let signature = sign(account, key, &fields);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("sv", SIGNED_VERSION)
        .append_pair("ss", fields.services)
        .append_pair("srt", fields.resource_types)
        .append_pair("sp", fields.permissions)
        .append_pair("st", &fields.start)
        .append_pair("se", &fields.expiry)
        .append_pair("spr", fields.protocol)
        .append_pair("sig", &signature);
    query.finish()
}

/// Signs `url` for `account` around `now`: its query gets a fresh account
/// SAS, replacing any an earlier try of the same request left there.
pub fn sign_url(url: &mut url::Url, account: &str, key: &Secret, now: Timestamp) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !FIELDS.contains(&name.as_ref()))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let signature = account_sas(account, key, now);
    let query = if kept.is_empty() {
        signature
    } else {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(kept);
        format!("{}&{signature}", query.finish())
    };
    url.set_query(Some(&query));
}

struct Fields {
    permissions: &'static str,
    services: &'static str,
    resource_types: &'static str,
    start: String,
    expiry: String,
    protocol: &'static str,
}

fn sign(account: &str, key: &Secret, fields: &Fields) -> String {
    let to_sign = format!(
        "{account}\n{}\n{}\n{}\n{}\n{}\n\n{}\n{SIGNED_VERSION}\n\n",
        fields.permissions,
        fields.services,
        fields.resource_types,
        fields.start,
        fields.expiry,
        fields.protocol,
    );
    // A connection string's key was checked when it was read; an
    // undecodable one here signs with nothing and is refused by the
    // service, which says so.
    let key = decode_key(key.expose_str()).unwrap_or_default();
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), to_sign.as_bytes());
    STANDARD.encode(tag.as_ref())
}

/// `now` moved by `seconds`, to the second, as SAS times are written.
fn at(now: Timestamp, seconds: i64) -> String {
    let moved = Timestamp::from_second(now.as_second() + seconds).unwrap_or(now);
    moved.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_a_url_twice_leaves_one_signature_and_the_other_parameters() {
        let key = Secret::new(STANDARD.encode(b"key"));
        let mut url = url::Url::parse("http://127.0.0.1/acct/q/messages?numofmessages=2").unwrap();
        sign_url(&mut url, "acct", &key, Timestamp::now());
        sign_url(&mut url, "acct", &key, Timestamp::now());
        let names: Vec<String> = url.query_pairs().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names.iter().filter(|n| *n == "sig").count(), 1);
        assert_eq!(names[0], "numofmessages");
    }

    /// The documented string to sign, signed by hand with a known key.
    #[test]
    fn the_signature_is_hmac_sha256_of_the_documented_fields() {
        let key = Secret::new(STANDARD.encode(b"key"));
        let now: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let query = account_sas("acct", &key, now);
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| pairs.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(get("st"), "2026-12-03T11:55:00Z");
        assert_eq!(get("se"), "2026-12-03T12:15:00Z");
        assert_eq!(get("sv"), SIGNED_VERSION);
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"key"),
            b"acct\nrwdlacup\nqt\nsco\n2026-12-03T11:55:00Z\n2026-12-03T12:15:00Z\n\nhttps,http\n2022-11-02\n\n",
        );
        assert_eq!(get("sig"), STANDARD.encode(expected.as_ref()));
    }
}
