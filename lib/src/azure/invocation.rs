//! What the Azure Functions host sends a custom handler for a non-HTTP
//! trigger, and what it takes back: `POST /{function}` with
//! `{"Data": {binding: …}, "Metadata": {…}}`, answered with
//! `{"Outputs": {…}, "Logs": […], "ReturnValue": …}`.
//!
//! The host's queue trigger does not always hand a message over in the form
//! its documentation shows. Seen in practice, and all accepted here:
//! - the message text as is (`{"id": …}`), or already parsed into a JSON
//!   object;
//! - that text JSON-encoded once more (`"{\"id\": …}"`);
//! - the text base64-encoded, as Azure Storage queues carry it by default
//!   (`messageEncoding: base64`) and as the Bot Service proactive template
//!   writes it;
//! - metadata values as JSON numbers, plain strings, or strings quoting
//!   their own JSON (`"1"`, `"\"m-1\""`).
//!
//! Anything else is refused with an [`InvocationError`] saying what was
//! found, never a panic: the caller logs it and settles the message.

use base64::Engine;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::queue::ReceivedMessage;

/// One invocation of a function, as the host posts it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Invocation {
    /// The trigger's and input bindings' values, by binding name.
    #[serde(rename = "Data", default)]
    pub data: Map<String, Value>,
    /// What the trigger says about them (a queue message's id, pop
    /// receipt, dequeue count, insertion time; `sys`).
    #[serde(rename = "Metadata", default)]
    pub metadata: Map<String, Value>,
}

/// Why an invocation could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    /// The binding is not in `Data`.
    #[error("the invocation has no `{0}` in its Data")]
    Missing(String),
    /// The queue message is in none of the accepted forms.
    #[error("the queue message is not a JSON object in any accepted form: {0}")]
    Unreadable(String),
    /// A metadata value the message needs is absent or malformed.
    #[error("metadata `{0}` is missing or malformed")]
    Metadata(&'static str),
}

impl Invocation {
    /// The queue message of the trigger bound as `binding`, in the queue
    /// port's terms: its id and pop receipt (what updates or deletes it),
    /// how often it was dequeued, when it was inserted, and its text.
    pub fn queue_message(&self, binding: &str) -> Result<ReceivedMessage, InvocationError> {
        let value = self
            .data
            .get(binding)
            .ok_or_else(|| InvocationError::Missing(binding.to_owned()))?;
        let body = message_text(value)?;
        let message_id = self.text("Id").ok_or(InvocationError::Metadata("Id"))?;
        let receipt = self
            .text("PopReceipt")
            .ok_or(InvocationError::Metadata("PopReceipt"))?;
        let receive_count = match self.metadata.get("DequeueCount") {
            None => 1,
            Some(value) => count(value).ok_or(InvocationError::Metadata("DequeueCount"))?,
        };
        let sent_at = match self.text("InsertionTime") {
            None => Timestamp::now(),
            Some(text) => text
                .parse::<Timestamp>()
                .map_err(|_| InvocationError::Metadata("InsertionTime"))?,
        };
        Ok(ReceivedMessage {
            // What updates or deletes it through the queue adapter.
            receipt: crate::queue::azure::receipt::join(&message_id, &receipt),
            message_id,
            body,
            receive_count,
            sent_at,
        })
    }

    /// Whether the timer bound as `binding` fired late (`IsPastDue`): the
    /// host was down or busy when it was due. Absent counts as on time.
    pub fn timer_is_past_due(&self, binding: &str) -> bool {
        self.data
            .get(binding)
            .and_then(|timer| timer.get("IsPastDue"))
            .and_then(|late| match late {
                Value::Bool(late) => Some(*late),
                Value::String(text) => unquote(text).parse().ok(),
                _ => None,
            })
            .unwrap_or(false)
    }

    /// A metadata value as text, unquoted.
    fn text(&self, name: &str) -> Option<String> {
        match self.metadata.get(name)? {
            Value::String(text) => Some(unquote(text).to_owned()).filter(|t| !t.is_empty()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

/// The answer to an invocation: no output bindings, the handler's log
/// lines (the host writes them to its log), no return value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Answer {
    /// Values for output bindings, by name (nudge binds none).
    #[serde(rename = "Outputs")]
    pub outputs: Map<String, Value>,
    /// Lines for the host's log.
    #[serde(rename = "Logs")]
    pub logs: Vec<String>,
    /// The function's return value.
    #[serde(rename = "ReturnValue")]
    pub return_value: Value,
}

impl Answer {
    /// An answer carrying one log line.
    pub fn logged(line: impl Into<String>) -> Answer {
        Answer {
            logs: vec![line.into()],
            ..Answer::default()
        }
    }
}

/// The message's text: a JSON object, in whichever accepted form it came.
fn message_text(value: &Value) -> Result<String, InvocationError> {
    match value {
        Value::Object(_) => Ok(value.to_string()),
        Value::String(text) => text_form(text, 2),
        other => Err(InvocationError::Unreadable(kind(other).to_owned())),
    }
}

/// Peels at most `depth` layers of JSON string encoding and base64 off
/// `text` until it is a JSON object.
fn text_form(text: &str, depth: usize) -> Result<String, InvocationError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') && serde_json::from_str::<Map<String, Value>>(trimmed).is_ok() {
        return Ok(trimmed.to_owned());
    }
    let unreadable = || {
        let shown: String = trimmed.chars().take(40).collect();
        InvocationError::Unreadable(format!("{shown:?}"))
    };
    if depth == 0 {
        return Err(unreadable());
    }
    if trimmed.starts_with('"') {
        let inner: String = serde_json::from_str(trimmed).map_err(|_| unreadable())?;
        return text_form(&inner, depth - 1);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(unreadable)?;
    text_form(&decoded, depth - 1)
}

/// A count from a number, `"3"` or `"\"3\""`.
fn count(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => unquote(text).trim().parse().ok(),
        _ => None,
    }
}

/// `text` without one layer of JSON string quoting, if it has one.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BODY: &str = r#"{"id":"n-1","text":"hi"}"#;

    fn invocation(message: Value, metadata: Value) -> Invocation {
        serde_json::from_value(json!({
            "Data": {"message": message},
            "Metadata": metadata,
        }))
        .unwrap()
    }

    fn metadata() -> Value {
        json!({
            "DequeueCount": 2,
            "Id": "m-1",
            "PopReceipt": "AgAAAAMAAAAAAAAA",
            "InsertionTime": "2026-12-03T09:00:00+00:00",
            "sys": {"MethodName": "notifier", "UtcNow": "2026-12-03T09:00:01Z"},
        })
    }

    #[test]
    fn every_observed_form_of_the_message_reads_the_same() {
        let base64 = base64::engine::general_purpose::STANDARD.encode(BODY);
        let forms = [
            json!(BODY),
            serde_json::from_str::<Value>(BODY).unwrap(),
            json!(serde_json::to_string(BODY).unwrap()),
            json!(base64),
            json!(serde_json::to_string(&base64).unwrap()),
            json!(format!("  {BODY}\n")),
        ];
        for form in forms {
            let message = invocation(form.clone(), metadata())
                .queue_message("message")
                .unwrap_or_else(|e| panic!("{form}: {e}"));
            let body: Value = serde_json::from_str(&message.body).unwrap();
            assert_eq!(body, serde_json::from_str::<Value>(BODY).unwrap(), "{form}");
            assert_eq!(message.message_id, "m-1");
            assert_eq!(
                message.receipt,
                format!("{}|AgAAAAMAAAAAAAAA", message.message_id)
            );
            assert_eq!(message.receive_count, 2);
            assert_eq!(message.sent_at.to_string(), "2026-12-03T09:00:00Z");
        }
    }

    #[test]
    fn metadata_values_may_be_quoted() {
        let quoted = json!({
            "DequeueCount": "\"3\"",
            "Id": "\"m-2\"",
            "PopReceipt": "\"receipt\"",
            "InsertionTime": "\"2026-12-03T09:00:00Z\"",
        });
        let message = invocation(json!(BODY), quoted)
            .queue_message("message")
            .unwrap();
        assert_eq!(
            (message.message_id.as_str(), message.receipt.as_str()),
            ("m-2", "m-2|receipt")
        );
        assert_eq!(message.receive_count, 3);
        let plain = json!({"DequeueCount": "1", "Id": "m-3", "PopReceipt": "r"});
        let message = invocation(json!(BODY), plain)
            .queue_message("message")
            .unwrap();
        assert_eq!(message.receive_count, 1);
    }

    fn three_layers_deep() -> String {
        let once = serde_json::to_string(BODY).unwrap();
        let twice = serde_json::to_string(&once).unwrap();
        serde_json::to_string(&twice).unwrap()
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        let cases = [
            (json!(42), "a number"),
            (json!(null), "null"),
            (json!("not base64 and not JSON!"), "not base64"),
            (json!("WzEsMiwzXQ=="), "[1,2,3]"), // base64 of an array
            (json!(three_layers_deep()), "\\\""),
        ];
        for (form, shown) in cases {
            let error = invocation(form.clone(), metadata())
                .queue_message("message")
                .expect_err("refused");
            assert!(
                matches!(&error, InvocationError::Unreadable(why) if why.contains(shown)),
                "{form}: {error}"
            );
        }
        assert_eq!(
            invocation(json!(BODY), metadata()).queue_message("other"),
            Err(InvocationError::Missing("other".into()))
        );
        let no_receipt = json!({"Id": "m-1"});
        assert_eq!(
            invocation(json!(BODY), no_receipt).queue_message("message"),
            Err(InvocationError::Metadata("PopReceipt"))
        );
        let bad_count = json!({"Id": "m-1", "PopReceipt": "r", "DequeueCount": "many"});
        assert_eq!(
            invocation(json!(BODY), bad_count).queue_message("message"),
            Err(InvocationError::Metadata("DequeueCount"))
        );
    }

    #[test]
    fn a_timer_says_whether_it_fired_late() {
        let timer = |late: Value| -> Invocation {
            serde_json::from_value(json!({"Data": {"timer": {
                "Schedule": {"AdjustForDST": true},
                "ScheduleStatus": null,
                "IsPastDue": late,
            }}}))
            .unwrap()
        };
        assert!(timer(json!(true)).timer_is_past_due("timer"));
        assert!(timer(json!("true")).timer_is_past_due("timer"));
        assert!(!timer(json!(false)).timer_is_past_due("timer"));
        assert!(!Invocation::default().timer_is_past_due("timer"));
    }

    #[test]
    fn the_answer_has_the_hosts_field_names() {
        let answer = serde_json::to_value(Answer::logged("delivered")).unwrap();
        assert_eq!(
            answer,
            json!({"Outputs": {}, "Logs": ["delivered"], "ReturnValue": null})
        );
    }
}
