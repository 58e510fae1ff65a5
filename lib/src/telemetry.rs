//! Logging: human-readable text locally, JSON on cloud hosts. The filter
//! comes from `NUDGE_LOG`, else `RUST_LOG`, else `info`.
//!
//! Log lines carry values that strangers chose: a conversation id, an
//! event's value, a channel's error message, a token's claims. In the text
//! format a newline in one of them would start a forged log line, and an
//! escape sequence would drive the reader's terminal, so the text format
//! writes every field through [`EscapedFields`]: control characters are
//! escaped (`\n`, `\u{1b}`) and each value is cut at [`MAX_FIELD_CHARS`].
//! JSON escapes control characters by itself; values that can be long and
//! come from outside are logged through [`untrusted`], which cuts them in
//! either format.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::EnvFilter;

/// The longest a logged value gets, in characters.
pub const MAX_FIELD_CHARS: usize = 512;

/// Installs the logger: JSON lines when `json`, else escaped text. Once per
/// process; later calls do nothing.
pub fn init(json: bool) {
    let filter = std::env::var("NUDGE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    // Colours only for a person at a terminal: in a file, a pipe or a log
    // service, escape sequences are noise (and nothing in a log line should
    // be an escape sequence but what the formatter itself writes there).
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_ansi(colours)
        .with_writer(std::io::stderr);
    // Already set (a test harness, a second call): keep the first.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.fmt_fields(EscapedFields).try_init()
    };
}

/// A value from outside, for a log field (`value = %untrusted(&raw)`):
/// control characters escaped, at most [`MAX_FIELD_CHARS`] characters.
pub fn untrusted(value: &dyn fmt::Display) -> String {
    escape(&value.to_string())
}

/// `text` with control characters (and the bidirectional overrides that
/// reorder a line) escaped, cut at [`MAX_FIELD_CHARS`].
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_FIELD_CHARS + 8));
    for (n, c) in text.chars().enumerate() {
        if n == MAX_FIELD_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Whether printing `c` on a terminal can do more than show a character:
/// control characters (line breaks, escape sequences, C1 controls) and the
/// bidirectional overrides and isolates that reorder what is shown.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The text format's field writer: `name=value` pairs separated by spaces,
/// the message first and bare, every value escaped by `escape`.
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, text: &str) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let value = escape(text);
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{value}")
        } else {
            write!(self.writer, "{separator}{}={value}", field.name())
        };
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, value);
        } else {
            self.write(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_value_cannot_forge_a_line_or_drive_the_terminal() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .fmt_fields(EscapedFields)
            .finish();
        let forged = "x\n2026-12-02T00:00:00Z  INFO nudge: forged\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("turn", conversation = %forged);
            let _in = span.enter();
            tracing::warn!(value = %forged, text = forged, long = %"y".repeat(2000), "event {}", forged);
        });
        let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(!output.contains('\u{1b}'), "{output}");
        assert!(output.contains(r"x\n2026-12-02T00:00:00Z"), "{output}");
        assert!(output.contains(r"\u{1b}[2J"), "{output}");
        assert!(output.contains(&format!("long={}…", "y".repeat(MAX_FIELD_CHARS))));
        assert!(!output.contains(&"y".repeat(MAX_FIELD_CHARS + 1)));
    }

    #[test]
    fn untrusted_values_are_escaped_and_cut() {
        assert_eq!(untrusted(&"a\r\nb"), r"a\r\nb");
        assert_eq!(untrusted(&"\u{9b}\u{202e}"), r"\u{9b}\u{202e}");
        assert_eq!(
            untrusted(&"é".repeat(600)).chars().count(),
            MAX_FIELD_CHARS + 1
        );
        assert_eq!(untrusted(&"plain"), "plain");
    }
}
