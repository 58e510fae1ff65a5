//! What a webhook notification says: text (markdown), an Adaptive Card, or
//! both, checked and shaped into the activity the notifier sends.
//!
//! A card must be a JSON object of `"type": "AdaptiveCard"`, no larger than
//! [`MAX_CARD_BYTES`] as JSON: Teams refuses messages near 28 KB, and a card
//! that cannot be delivered is better refused here, with a 400, than
//! accepted and failed later for every recipient.

use serde_json::Value;

use super::ApiError;
use crate::activity::{kind, Activity, Attachment, ADAPTIVE_CARD_CONTENT_TYPE};

/// Longest text accepted.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Largest Adaptive Card accepted, as JSON.
pub const MAX_CARD_BYTES: usize = 24 * 1024;

/// The message activity for `text` and `card`; `None` when neither is
/// given.
pub fn activity(text: Option<String>, card: Option<Value>) -> Result<Option<Activity>, ApiError> {
    if text.is_none() && card.is_none() {
        return Ok(None);
    }
    let text = text.map(checked_text).transpose()?;
    let mut activity = Activity {
        kind: Some(kind::MESSAGE.into()),
        text_format: text.as_ref().map(|_| "markdown".to_owned()),
        text,
        ..Activity::default()
    };
    if let Some(card) = card {
        let card = checked_card(card)?;
        if activity.text.is_none() {
            activity.summary = Some(card_summary(&card));
        }
        activity.attachments = Some(vec![Attachment {
            content_type: ADAPTIVE_CARD_CONTENT_TYPE.into(),
            content: Some(card),
            ..Attachment::default()
        }]);
    }
    Ok(Some(activity))
}

/// What a chat list shows for a message that is only a card (Teams shows
/// "Send a card" without it): the card's `fallbackText`, else its first
/// `TextBlock`'s text, cut at [`MAX_SUMMARY_CHARS`], else a plain phrase.
fn card_summary(card: &Value) -> String {
    let first_text_block = || {
        card.get("body")?
            .as_array()?
            .iter()
            .find(|item| item.get("type").and_then(Value::as_str) == Some("TextBlock"))?
            .get("text")?
            .as_str()
    };
    let found = card
        .get("fallbackText")
        .and_then(Value::as_str)
        .or_else(first_text_block)
        .map(str::trim)
        .filter(|text| !text.is_empty());
    match found {
        Some(text) if text.chars().count() > MAX_SUMMARY_CHARS => {
            let cut: String = text.chars().take(MAX_SUMMARY_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(text) => text.to_owned(),
        None => "New notification".to_owned(),
    }
}

/// Longest summary taken from a card.
pub const MAX_SUMMARY_CHARS: usize = 100;

/// Text of 1 to [`MAX_TEXT_CHARS`] characters, not only spaces.
pub fn checked_text(text: String) -> Result<String, ApiError> {
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(
            "InvalidText",
            format!("text must be 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(text)
}

fn checked_card(card: Value) -> Result<Value, ApiError> {
    let is_card = card
        .as_object()
        .and_then(|o| o.get("type"))
        .and_then(Value::as_str)
        == Some("AdaptiveCard");
    if !is_card {
        return Err(ApiError::bad_request(
            "InvalidCard",
            "card must be an Adaptive Card: a JSON object with \"type\": \"AdaptiveCard\"",
        ));
    }
    let size = serde_json::to_vec(&card).map_or(usize::MAX, |b| b.len());
    if size > MAX_CARD_BYTES {
        return Err(ApiError::bad_request(
            "CardTooLarge",
            format!("the card is {size} bytes as JSON; at most {MAX_CARD_BYTES} are accepted"),
        ));
    }
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_card_or_both() {
        assert_eq!(activity(None, None).unwrap(), None);
        let text = activity(Some("**hi**".into()), None).unwrap().unwrap();
        assert_eq!(
            (text.text.as_deref(), text.text_format.as_deref()),
            (Some("**hi**"), Some("markdown"))
        );
        assert!(text.attachments.is_none());
        let card = json!({"type": "AdaptiveCard", "version": "1.5", "body": []});
        let both = activity(Some("hi".into()), Some(card.clone()))
            .unwrap()
            .unwrap();
        let attachment = &both.attachments.unwrap()[0];
        assert_eq!(attachment.content_type, ADAPTIVE_CARD_CONTENT_TYPE);
        assert_eq!(attachment.content, Some(card.clone()));
        let only = activity(None, Some(card)).unwrap().unwrap();
        assert_eq!((only.text, only.text_format), (None, None));
        assert_eq!(
            only.summary.as_deref(),
            Some("New notification"),
            "a card alone still says something in chat lists"
        );
        assert_eq!(both.summary, None, "the text says it");
    }

    #[test]
    fn a_card_alone_is_summarised_by_its_fallback_text_or_first_text_block() {
        let summary = |card: Value| activity(None, Some(card)).unwrap().unwrap().summary;
        let block = json!({"type": "TextBlock", "text": "Build 42 passed"});
        assert_eq!(
            summary(json!({"type": "AdaptiveCard", "body": [{"type": "Image"}, block]})).as_deref(),
            Some("Build 42 passed")
        );
        assert_eq!(
            summary(
                json!({"type": "AdaptiveCard", "fallbackText": "Deploy done", "body": [block]})
            )
            .as_deref(),
            Some("Deploy done")
        );
        let long = "x".repeat(300);
        let cut = summary(json!({"type": "AdaptiveCard", "fallbackText": long})).unwrap();
        assert_eq!(cut.chars().count(), MAX_SUMMARY_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn bad_text_and_cards_are_refused_with_their_codes() {
        let code = |text: Option<&str>, card: Value| {
            activity(text.map(str::to_owned), Some(card))
                .unwrap_err()
                .code
        };
        let card = json!({"type": "AdaptiveCard"});
        assert_eq!(code(Some(" "), card.clone()), "InvalidText");
        assert_eq!(code(None, json!([1])), "InvalidCard");
        assert_eq!(code(None, json!({"type": "HeroCard"})), "InvalidCard");
        let big = json!({"type": "AdaptiveCard", "body": "x".repeat(MAX_CARD_BYTES)});
        assert_eq!(code(None, big), "CardTooLarge");
    }
}
