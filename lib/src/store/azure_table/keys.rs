//! Entity keys that any text can go into.
//!
//! Table Storage refuses `/`, `\`, `#` and `?` in a partition or row key,
//! and control characters (U+0000–U+001F, U+007F–U+009F); keys also travel
//! in URLs (`(PartitionKey='…',RowKey='…')`), where `'` and `%` need care.
//! [`encode`] writes each of those, the escape character `~` itself, and
//! `!` (which starts the store's own row keys, such as [`COUNTER`], so no
//! encoded id can be one), as `~` and two hex digits of each UTF-8 byte, so two different texts
//! never share a key and every key reads back ([`decode`]). Keys sort in
//! their encoded order, which is the raw order wherever no character is
//! escaped (ids, channel names); listings order by the encoded key.

use std::fmt::Write;

const ESCAPE: char = '~';

/// The row key of a partition's counter entity.
pub const COUNTER: &str = "!count";

/// A partition key: a kind's prefix and the encoded id (`{prefix}:{id}`).
pub fn partition(prefix: &str, id: &str) -> String {
    format!("{prefix}:{}", encode(id))
}

/// Which of `shards` partitions `text` goes to: a stable hash, the same
/// in every process and release.
pub fn shard(text: &str, shards: u64) -> u64 {
    u64::from_str_radix(&crate::ids::short_hash(text), 16).unwrap_or_default() % shards
}

/// A sortable, fixed-width text of a time in milliseconds: later times
/// sort later (`newest_first`: earlier).
pub fn sortable_millis(at: jiff::Timestamp, newest_first: bool) -> String {
    // Every instant jiff holds is within ±2^53 ms of the epoch.
    const OFFSET: i128 = 1 << 60;
    let millis = i128::from(at.as_millisecond()) + OFFSET;
    let value = if newest_first {
        (OFFSET << 1) - millis
    } else {
        millis
    };
    format!("{value:020}")
}

/// `text` as a legal key part.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                write!(out, "{ESCAPE}{byte:02X}").expect("writing to a string");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The text [`encode`] made `key` from; `None` when `key` is no such
/// encoding.
pub fn decode(key: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(key.len());
    let mut rest = key.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == ESCAPE as u8 {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

fn needs_escape(c: char) -> bool {
    matches!(c, '/' | '\\' | '#' | '?' | '\'' | '%' | '!' | ESCAPE)
        || c.is_control()
        || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// A key inside a URL's entity address: `'` doubled, as OData quotes
/// strings, then percent-encoded as a path segment.
pub fn in_address(key: &str) -> String {
    let quoted = key.replace('\'', "''");
    percent_encoding::utf8_percent_encode(&quoted, SEGMENT).to_string()
}

/// What must be percent-encoded in a path segment, plus the characters an
/// OData address gives meaning to.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'(')
    .add(b')')
    .add(b',')
    .add(b'+')
    .add(b'&');

/// A string literal in an OData `$filter`: quoted, `'` doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forbidden_characters_are_escaped_and_others_kept() {
        assert_eq!(encode("msteams"), "msteams");
        assert_eq!(encode("a/b\\c#d?e"), "a~2Fb~5Cc~23d~3Fe");
        assert_eq!(
            encode("19:x@thread.tacv2;messageid=1"),
            "19:x@thread.tacv2;messageid=1"
        );
        assert_eq!(encode("~\n'%\u{85}"), "~7E~0A~27~25~C2~85");
    }

    proptest! {
        #[test]
        fn every_text_round_trips_through_a_legal_key(text in ".*") {
            let key = encode(&text);
            prop_assert!(!key.chars().any(|c| needs_escape(c) && c != ESCAPE));
            prop_assert_eq!(decode(&key), Some(text));
        }

        #[test]
        fn different_texts_never_share_a_key(a in ".{0,8}", b in ".{0,8}") {
            prop_assume!(a != b);
            prop_assert_ne!(encode(&a), encode(&b));
        }
    }
}
