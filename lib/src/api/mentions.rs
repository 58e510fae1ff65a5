//! `mentions` in a webhook notification: the people a message @mentions,
//! shaped as Teams requires.
//!
//! Teams shows a mention only when the activity carries a `mention` entity
//! (`mentioned`: the user's id and name) *and* its text holds the same
//! `<at>name</at>` tag. A caller names each person by their Teams user id
//! (`29:…`) or their Microsoft Entra object id (a GUID; Teams resolves it),
//! with the name to show. A tag the text already holds is where the
//! mention appears; a missing one is put at the start, so a caller need not
//! write tags at all. The name is HTML-escaped in the tag (Teams reads
//! message text as HTML), and the entity carries the very same tag.
//!
//! Mentions are Teams': other channels show the tag as text.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::ApiError;
use crate::activity::{Activity, Entity};

/// Most people one message may mention.
pub const MAX_MENTIONS: usize = 20;
/// Longest name or id accepted in a mention.
pub const MAX_MENTION_CHARS: usize = 256;

/// One person to mention, as the webhook body names them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MentionRequest {
    /// The user's Teams id (`29:…`).
    id: Option<String>,
    /// The user's Microsoft Entra object id.
    aad_object_id: Option<String>,
    /// The name the mention shows.
    name: String,
}

/// Adds `mentions` to `activity`: one entity each, and the tag in the
/// text. Refused with 400 `InvalidMentions` when a mention is malformed, or
/// when the activity has no text to hold the tags.
pub fn apply(activity: &mut Activity, mentions: Vec<MentionRequest>) -> Result<(), ApiError> {
    if mentions.is_empty() {
        return Ok(());
    }
    if mentions.len() > MAX_MENTIONS {
        return Err(invalid(format!(
            "at most {MAX_MENTIONS} mentions in one message"
        )));
    }
    let Some(text) = activity.text.as_mut() else {
        return Err(invalid(
            "mentions need `text`: Teams shows a mention where the text holds its <at>name</at> tag",
        ));
    };
    let mut missing = Vec::new();
    let mut entities = Vec::with_capacity(mentions.len());
    for mention in mentions {
        let (id, name) = checked(mention)?;
        let tag = format!("<at>{}</at>", escape(&name));
        if !text.contains(&tag) && !missing.contains(&tag) {
            missing.push(tag.clone());
        }
        let mut fields = Map::new();
        fields.insert("text".into(), Value::String(tag));
        fields.insert("mentioned".into(), json!({"id": id, "name": name}));
        entities.push(Entity {
            kind: "mention".into(),
            extra: fields,
        });
    }
    if !missing.is_empty() {
        *text = format!("{} {text}", missing.join(" "));
    }
    activity
        .entities
        .get_or_insert_with(Vec::new)
        .extend(entities);
    Ok(())
}

/// The id to put in `mentioned.id` and the name, once checked.
fn checked(mention: MentionRequest) -> Result<(String, String), ApiError> {
    let name = mention.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_MENTION_CHARS || has_control(&name) {
        return Err(invalid(format!(
            "a mention's name must be 1 to {MAX_MENTION_CHARS} characters, without control characters"
        )));
    }
    let id = match (mention.id, mention.aad_object_id) {
        (Some(id), None) => {
            if id.is_empty()
                || id.chars().count() > MAX_MENTION_CHARS
                || id.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(format!(
                    "a mention's id must be a Teams user id (29:…) of 1 to {MAX_MENTION_CHARS} characters, without spaces"
                )));
            }
            id
        }
        (None, Some(object_id)) => {
            if !crate::ids::is_object_id(&object_id) {
                return Err(invalid(
                    "a mention's aadObjectId must be a Microsoft Entra object id (a GUID)",
                ));
            }
            object_id
        }
        _ => {
            return Err(invalid(
                "each mention names the person by exactly one of `id` and `aadObjectId`",
            ))
        }
    };
    Ok((id, name))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidMentions", message)
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The name as Teams' HTML text shows it literally.
fn escape(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "6f1c3a52-8b0e-4c1d-9a7e-2b3c4d5e6f70";

    fn mention(value: Value) -> MentionRequest {
        serde_json::from_value(value).expect("a mention")
    }

    fn with_text(text: Option<&str>) -> Activity {
        Activity {
            text: text.map(str::to_owned),
            ..Activity::default()
        }
    }

    fn code(text: Option<&str>, mentions: Vec<Value>) -> &'static str {
        let mut activity = with_text(text);
        apply(&mut activity, mentions.into_iter().map(mention).collect())
            .unwrap_err()
            .code
    }

    #[test]
    fn a_tag_in_the_text_is_kept_and_the_entity_matches_it() {
        let mut activity = with_text(Some("Build 42 broke, <at>Ann Lee</at>: please look"));
        apply(
            &mut activity,
            vec![mention(json!({"id": "29:ann", "name": "Ann Lee"}))],
        )
        .unwrap();
        assert_eq!(
            activity.text.as_deref(),
            Some("Build 42 broke, <at>Ann Lee</at>: please look")
        );
        let entities = activity.entities.unwrap();
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0].kind, "mention");
        assert_eq!(entities[0].extra["text"], "<at>Ann Lee</at>");
        assert_eq!(
            entities[0].extra["mentioned"],
            json!({"id": "29:ann", "name": "Ann Lee"})
        );
    }

    #[test]
    fn missing_tags_go_first_once_each_and_entra_ids_are_used_as_they_are() {
        let mut activity = with_text(Some("the deploy is done"));
        apply(
            &mut activity,
            vec![
                mention(json!({"aadObjectId": GUID, "name": "Bob"})),
                mention(json!({"id": "29:ann", "name": "Ann"})),
                mention(json!({"id": "29:ann2", "name": "Ann"})),
            ],
        )
        .unwrap();
        assert_eq!(
            activity.text.as_deref(),
            Some("<at>Bob</at> <at>Ann</at> the deploy is done")
        );
        let entities = activity.entities.unwrap();
        assert_eq!(entities.len(), 3, "one entity per person");
        assert_eq!(entities[0].extra["mentioned"]["id"], GUID);
    }

    #[test]
    fn a_name_is_escaped_in_the_tag_and_shown_as_given() {
        let mut activity = with_text(Some("hi"));
        apply(
            &mut activity,
            vec![mention(json!({"id": "29:x", "name": "R&D <ops>"}))],
        )
        .unwrap();
        let tag = "<at>R&amp;D &lt;ops&gt;</at>";
        assert_eq!(activity.text.as_deref(), Some(&*format!("{tag} hi")));
        let entity = &activity.entities.unwrap()[0];
        assert_eq!(entity.extra["text"], tag);
        assert_eq!(entity.extra["mentioned"]["name"], "R&D <ops>");
    }

    #[test]
    fn no_mentions_change_nothing() {
        let mut activity = with_text(None);
        apply(&mut activity, Vec::new()).unwrap();
        assert_eq!(activity, with_text(None));
    }

    #[test]
    fn malformed_mentions_are_refused() {
        let ok = json!({"id": "29:a", "name": "A"});
        assert_eq!(code(None, vec![ok.clone()]), "InvalidMentions", "no text");
        for bad in [
            json!({"name": "A"}),
            json!({"id": "29:a", "aadObjectId": GUID, "name": "A"}),
            json!({"id": "", "name": "A"}),
            json!({"id": "29 a", "name": "A"}),
            json!({"aadObjectId": "not-a-guid", "name": "A"}),
            json!({"aadObjectId": "6f1c3a52-8b0e-4c1d-9a7e-2b3c4d5e6fxy", "name": "A"}),
            json!({"id": "29:a", "name": "  "}),
            json!({"id": "29:a", "name": "a\u{7}b"}),
            json!({"id": "29:a", "name": "x".repeat(MAX_MENTION_CHARS + 1)}),
        ] {
            assert_eq!(
                code(Some("hi"), vec![bad.clone()]),
                "InvalidMentions",
                "{bad}"
            );
        }
        let many = vec![ok; MAX_MENTIONS + 1];
        assert_eq!(code(Some("hi"), many), "InvalidMentions");
        assert!(serde_json::from_value::<MentionRequest>(
            json!({"id": "29:a", "name": "A", "upn": "x"})
        )
        .is_err());
    }
}
