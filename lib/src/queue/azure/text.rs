//! Message text on an Azure Storage queue: base64 of the body, as the
//! Functions host's queue trigger expects by default (`messageEncoding`
//! `base64` in `host.json`), and as Microsoft's proactive template writes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The text that carries `body`.
pub fn encode(body: &str) -> String {
    STANDARD.encode(body)
}

/// The body a message's text carries: base64 decoded, or the text itself
/// when it is not base64 of UTF-8 (a producer that writes plain text; a
/// JSON body is never valid base64).
pub fn decode(text: &str) -> String {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The largest body whose text fits in `text_limit` bytes.
pub const fn largest_body(text_limit: usize) -> usize {
    text_limit / 4 * 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_plain_text_is_read_as_is() {
        let body = r#"{"text":"héllo <b>&</b>"}"#;
        assert_eq!(decode(&encode(body)), body);
        assert_eq!(decode(body), body);
    }

    #[test]
    fn the_largest_body_fits_exactly() {
        let most = largest_body(64 * 1024);
        assert_eq!(encode(&"x".repeat(most)).len(), 64 * 1024);
        assert!(encode(&"x".repeat(most + 1)).len() > 64 * 1024);
    }
}
