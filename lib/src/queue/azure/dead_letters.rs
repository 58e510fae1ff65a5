//! The poison queue: where a message goes when the notifier gives up on it
//! or it was received too often, as the Functions host does with
//! `<queue>-poison`.
//!
//! Azure queue messages carry text and nothing else, so a message nudge
//! moves there is wrapped in an envelope that keeps what the port's
//! [`crate::queue::DeadLetter`] holds (the reason, the counts, the times);
//! one the Functions host moved is the original text, unwrapped. A redrive
//! takes either back.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::text;
use crate::queue::{DeadLetter, ReceivedMessage};

/// The envelope of a message nudge dead-lettered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    nudge_dead_letter: Letter,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Letter {
    body: String,
    reason: Option<String>,
    receive_count: u32,
    sent_at: Timestamp,
    dead_at: Timestamp,
}

/// The poison-queue text for `message`, dead because of `reason` (`None`:
/// received too often).
pub fn wrap(message: &ReceivedMessage, reason: Option<&str>, now: Timestamp) -> String {
    let envelope = Envelope {
        nudge_dead_letter: Letter {
            body: message.body.clone(),
            reason: reason.map(str::to_owned),
            receive_count: message.receive_count,
            sent_at: message.sent_at,
            dead_at: now,
        },
    };
    let json = serde_json::to_string(&envelope).expect("an envelope serializes");
    text::encode(&json)
}

/// The original body of a poison-queue message's text, whoever put it
/// there.
pub fn unwrap(message_text: &str) -> String {
    let body = text::decode(message_text);
    match serde_json::from_str::<Envelope>(&body) {
        Ok(envelope) => envelope.nudge_dead_letter.body,
        Err(_) => body,
    }
}

/// A poison-queue message as the port's dead letter. One the host moved
/// says only when it arrived there (`poisoned_at`): no reason, and no
/// count of receives (0).
pub fn read(message_id: String, message_text: &str, poisoned_at: Timestamp) -> DeadLetter {
    let body = text::decode(message_text);
    match serde_json::from_str::<Envelope>(&body) {
        Ok(Envelope {
            nudge_dead_letter: letter,
        }) => DeadLetter {
            message_id,
            body: letter.body,
            receive_count: letter.receive_count,
            sent_at: letter.sent_at,
            dead_at: letter.dead_at,
            reason: letter.reason,
        },
        Err(_) => DeadLetter {
            message_id,
            body,
            receive_count: 0,
            sent_at: poisoned_at,
            dead_at: poisoned_at,
            reason: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nudge_and_host_poison_messages_both_give_back_the_body() {
        let message = ReceivedMessage {
            message_id: "m".into(),
            receipt: "m|p".into(),
            body: r#"{"notificationId":"n-1"}"#.into(),
            receive_count: 3,
            sent_at: Timestamp::UNIX_EPOCH,
        };
        let wrapped = wrap(&message, Some("gave up: 503"), Timestamp::now());
        assert!(text::decode(&wrapped).contains("gave up: 503"));
        assert_eq!(unwrap(&wrapped), message.body);
        // The Functions host moves the original text as it was.
        assert_eq!(unwrap(&text::encode(&message.body)), message.body);

        let now = Timestamp::now();
        let ours = read("p1".into(), &wrapped, now);
        assert_eq!(
            (
                ours.body.as_str(),
                ours.reason.as_deref(),
                ours.receive_count
            ),
            (message.body.as_str(), Some("gave up: 503"), 3)
        );
        let hosts = read("p2".into(), &text::encode(&message.body), now);
        assert_eq!(
            (hosts.body.as_str(), hosts.reason, hosts.dead_at),
            (message.body.as_str(), None, now)
        );
    }
}
