//! Domain identifiers, parsed once at the edge.
//!
//! Each type here is built from raw input by a constructor that checks it, and
//! cannot hold a bad value afterwards: code deeper in the crate never
//! re-validates a `ConversationKey` or a `JobId`. Ids from channels are opaque
//! and may contain `:`, `|`, `@`, `;` (Teams) — they are accepted as long as
//! they are non-empty, of sane length and free of control characters.

use std::fmt;
use std::str::FromStr;

use rand::RngExt;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest channel, conversation or user id we accept. Teams ids run to a
/// few hundred characters; anything near this is an attack, not an id.
pub const MAX_ID_LEN: usize = 1024;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Absent or blank (the field's name).
    #[error("{0} is missing")]
    Missing(&'static str),
    /// Longer than [`MAX_ID_LEN`].
    #[error("{0} is longer than {MAX_ID_LEN} characters")]
    TooLong(&'static str),
    /// Holds a control character (a newline, NUL, …).
    #[error("{0} contains a control character")]
    ControlCharacter(&'static str),
    /// Present but not in the id's form.
    #[error("{what} is malformed: {why}")]
    Malformed {
        /// The field.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

/// Checks an opaque channel-issued id: present, bounded, printable.
pub fn check_opaque_id(what: &'static str, value: &str) -> Result<(), IdError> {
    if value.trim().is_empty() {
        return Err(IdError::Missing(what));
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(what));
    }
    if value.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter(what));
    }
    if is_dot_segment(value) {
        return Err(IdError::Malformed {
            what,
            why: "`.` and `..` are not ids".into(),
        });
    }
    Ok(())
}

/// A GUID as Microsoft writes them (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
/// hexadecimal): a Microsoft App ID, a Microsoft Entra object or tenant id.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An object id as Microsoft Entra ids look: hexadecimal groups joined by
/// `-` (a GUID), leniently: local tools such as the Agents Playground give
/// their mock users ids of that alphabet but not always a GUID's group
/// lengths, and nudge must reach them too. What it rules out is an id of
/// another kind (a name, a Teams `29:…` id).
pub fn is_object_id(text: &str) -> bool {
    (10..=64).contains(&text.len())
        && text.contains('-')
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// Whether `value` is `.` or `..`: ids become path segments of Connector
/// URLs, where these two mean "here" and "up" (`conversation.id` `..` would
/// turn `{serviceUrl}/v3/conversations/../activities` into
/// `{serviceUrl}/v3/activities`). Percent-encoding cannot help: URL parsers
/// treat `%2e` as a dot too. Any other id made of dots is a plain segment.
pub fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

/// Identifies one stored conversation: the channel and the channel's own
/// conversation id. Its string form is `{channelId}#{conversationId}`
/// (channel ids never contain `#`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationKey {
    channel_id: String,
    conversation_id: String,
}

impl ConversationKey {
    /// The key of `conversation_id` on `channel_id`, both checked
    /// ([`check_opaque_id`]; a channel id may not hold `#`).
    pub fn new(channel_id: &str, conversation_id: &str) -> Result<Self, IdError> {
        check_opaque_id("channelId", channel_id)?;
        check_opaque_id("conversation.id", conversation_id)?;
        if channel_id.contains('#') {
            return Err(IdError::Malformed {
                what: "channelId",
                why: "contains '#'".into(),
            });
        }
        Ok(Self {
            channel_id: channel_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
        })
    }

    /// The channel (`msteams`, `webchat`, …).
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The channel's id for the conversation.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }
}

impl fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.channel_id, self.conversation_id)
    }
}

impl FromStr for ConversationKey {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (channel, conversation) = s.split_once('#').ok_or(IdError::Malformed {
            what: "conversation key",
            why: "expected {channelId}#{conversationId}".into(),
        })?;
        Self::new(channel, conversation)
    }
}

/// Letters and digits a person will not confuse when reading them back
/// (no 0/o, 1/l/i).
const ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const SHORT_ID_LEN: usize = 8;

/// A random string of `len` characters from [`ID_ALPHABET`].
pub(crate) fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
        .collect()
}

/// Ids that people type back (`done <id>`, `cancel <id>`): eight characters
/// from an alphabet without look-alikes; input is case-insensitive.
macro_rules! short_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(random_token(SHORT_ID_LEN))
            }

            /// The id as text (lowercase).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim().to_ascii_lowercase();
                if s.is_empty() {
                    return Err(IdError::Missing($what));
                }
                if s.len() != SHORT_ID_LEN || !s.bytes().all(|b| ID_ALPHABET.contains(&b)) {
                    return Err(IdError::Malformed {
                        what: $what,
                        why: format!("{}s are {SHORT_ID_LEN} letters and digits", $what),
                    });
                }
                Ok($name(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

short_id!(
    /// A job's id, as typed in `done <id>`.
    JobId,
    "job id"
);
short_id!(
    /// A reminder's id, as typed in `cancel <id>`.
    ReminderId,
    "reminder id"
);

/// A notification's id: the idempotency key of its delivery. Printable
/// ASCII without spaces, at most 256 characters, so it fits a queue message
/// attribute and a store key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(String);

impl NotificationId {
    /// A new random id (`n-` and 16 characters).
    pub fn generate() -> Self {
        NotificationId(format!("n-{}", random_token(16)))
    }

    /// The id of the notification that completes a job.
    pub fn from_job(job: &JobId) -> Self {
        NotificationId(format!("job-{job}-complete"))
    }

    /// The id the reply that announces a job's start is recorded under,
    /// so that its completion can edit it.
    pub fn job_started(job: &JobId) -> Self {
        NotificationId(format!("job-{job}-started"))
    }

    /// The id of the edit of that reply when the job completes.
    pub fn job_started_edit(job: &JobId) -> Self {
        NotificationId(format!("job-{job}-started-edit"))
    }

    /// The id of the notification for one occurrence of a reminder: the
    /// same however many ticks see that occurrence due.
    pub fn from_reminder(reminder: &ReminderId, due: jiff::Timestamp) -> Self {
        NotificationId(format!("rem-{reminder}-{}", due.as_second()))
    }

    /// A child id derived from this one and a discriminator: the same
    /// inputs always give the same id, which is what makes a repeated
    /// fan-out page or a repeated enqueue harmless.
    pub fn child(&self, discriminator: &str) -> Self {
        NotificationId(format!("{}.{}", self.0, short_hash(discriminator)))
    }

    /// The id this one was made from by [`NotificationId::child`], if it
    /// was: `{parent}.{16 lowercase hex digits}`.
    pub fn parent(&self) -> Option<NotificationId> {
        let (parent, suffix) = self.0.rsplit_once('.')?;
        let hashed = suffix.len() == 16
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (hashed && !parent.is_empty()).then(|| NotificationId(parent.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's `Idempotency-Key`: 1 to 255 printable ASCII characters
/// without spaces (a UUID is typical). A retried call under the same key
/// gets the first call's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as kept for one caller: `{credential}/{key}`. A key names a
    /// call of one sender; another sender's same key is another call, and
    /// must neither replay the first one's answer nor be blocked by it.
    pub fn scoped(&self, credential: &str) -> IdempotencyKey {
        IdempotencyKey(format!("{credential}/{}", self.0))
    }
}

impl FromStr for IdempotencyKey {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IdError::Missing("idempotency key"));
        }
        if s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdError::Malformed {
                what: "idempotency key",
                why: "use 1 to 255 printable ASCII characters without spaces".into(),
            });
        }
        Ok(IdempotencyKey(s.to_owned()))
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stable, short, printable digest of `input` (FNV-1a, 64 bits, hex).
/// Not cryptographic: it only has to spread ids, never to resist attack.
pub fn short_hash(input: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in input.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl FromStr for NotificationId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IdError::Missing("notification id"));
        }
        if s.len() > 256 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdError::Malformed {
                what: "notification id",
                why: "use at most 256 printable ASCII characters without spaces".into(),
            });
        }
        Ok(NotificationId(s.to_owned()))
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serializes a parsed id as its string form and parses it back on read, so
/// stored and queued data goes through the same checks as any other input.
macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(
    ConversationKey,
    JobId,
    ReminderId,
    NotificationId,
    IdempotencyKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_key_round_trips_through_its_string_form() {
        let key = ConversationKey::new("msteams", "a:1Xyz|@;thread.skype").unwrap();
        assert_eq!(key.to_string(), "msteams#a:1Xyz|@;thread.skype");
        assert_eq!(key.to_string().parse::<ConversationKey>().unwrap(), key);
    }

    #[test]
    fn conversation_key_refuses_bad_parts() {
        assert_eq!(
            ConversationKey::new("", "x"),
            Err(IdError::Missing("channelId"))
        );
        assert_eq!(
            ConversationKey::new("emulator", "a\nb"),
            Err(IdError::ControlCharacter("conversation.id"))
        );
        assert!(ConversationKey::new("a#b", "c").is_err());
        assert!(ConversationKey::new("x", &"y".repeat(MAX_ID_LEN + 1)).is_err());
        assert!("no-separator".parse::<ConversationKey>().is_err());
    }

    #[test]
    fn job_ids_are_generated_in_their_own_alphabet_and_parse_case_insensitively() {
        for _ in 0..100 {
            let id = JobId::generate();
            assert_eq!(id.as_str().parse::<JobId>().unwrap(), id);
            assert_eq!(id.as_str().to_uppercase().parse::<JobId>().unwrap(), id);
        }
        assert_eq!("".parse::<JobId>(), Err(IdError::Missing("job id")));
        assert!("abc".parse::<JobId>().is_err());
        assert!(
            "abcdefg0".parse::<JobId>().is_err(),
            "0 is not in the alphabet"
        );
    }

    #[test]
    fn notification_children_are_stable_and_distinct() {
        let parent: NotificationId = "n-parent".parse().unwrap();
        assert_eq!(parent.child("a"), parent.child("a"));
        assert_ne!(parent.child("a"), parent.child("b"));
        assert!(parent.child("a").as_str().starts_with("n-parent."));
        assert_eq!(parent.child("a").parent(), Some(parent.clone()));
        assert_eq!(parent.parent(), None);
        for not_a_child in [".0123456789abcdef", "x.0123456789ABCDEF", "x.0123"] {
            let id: NotificationId = not_a_child.parse().unwrap();
            assert_eq!(id.parent(), None, "{not_a_child}");
        }
        assert!("has space".parse::<NotificationId>().is_err());
    }
}
