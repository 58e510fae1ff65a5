//! Read-then-write fidelity of the activity schema against realistic channel
//! payloads (`tests/fixtures/*.json`), and the addressing helpers built on it.
//!
//! The fixtures are composed from the shapes shown in the Bot Framework
//! Activity spec, the Teams conversation-event docs, Bot Framework Emulator
//! and Web Chat / Direct Line traffic; ids and names are invented. Each one
//! also carries a few fields our structs do not know, which must survive.

use std::collections::BTreeSet;

use nudge::activity::{kind, Activity, ConversationReference, ADAPTIVE_CARD_CONTENT_TYPE};
use serde::Serialize;
use serde_json::{json, Value};

const EMULATOR_MESSAGE: &str = include_str!("fixtures/emulator_message.json");
const WEBCHAT_MESSAGE: &str = include_str!("fixtures/webchat_message.json");
const TEAMS_CONVERSATION_UPDATE: &str = include_str!("fixtures/teams_conversation_update.json");
const TEAMS_INSTALLATION_UPDATE: &str = include_str!("fixtures/teams_installation_update.json");
const TEAMS_MESSAGE_WITH_MENTION: &str = include_str!("fixtures/teams_message_with_mention.json");
const ADAPTIVE_CARD: &str = include_str!("fixtures/adaptive_card_with_suggested_actions.json");
const TEAMS_REFERENCE: &str = include_str!("fixtures/teams_conversation_reference.json");

/// Every activity fixture, by file name.
const ACTIVITIES: &[(&str, &str)] = &[
    ("emulator_message.json", EMULATOR_MESSAGE),
    ("webchat_message.json", WEBCHAT_MESSAGE),
    ("teams_conversation_update.json", TEAMS_CONVERSATION_UPDATE),
    ("teams_installation_update.json", TEAMS_INSTALLATION_UPDATE),
    (
        "teams_message_with_mention.json",
        TEAMS_MESSAGE_WITH_MENTION,
    ),
    ("adaptive_card_with_suggested_actions.json", ADAPTIVE_CARD),
];

/// Every conversation-reference fixture, by file name.
const REFERENCES: &[(&str, &str)] = &[("teams_conversation_reference.json", TEAMS_REFERENCE)];

fn value(json: &str) -> Value {
    serde_json::from_str(json).expect("fixture is valid JSON")
}

fn as_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn parse(json: &str) -> Activity {
    serde_json::from_str(json).expect("fixture parses as an Activity")
}

/// Where two JSON values differ, as `path: left != right` lines.
fn differences(left: &Value, right: &Value, path: &str, out: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for key in keys {
                let at = format!("{path}.{key}");
                match (l.get(key), r.get(key)) {
                    (Some(lv), Some(rv)) => differences(lv, rv, &at, out),
                    (lv, rv) => out.push(format!("{at}: {lv:?} != {rv:?}")),
                }
            }
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => {
            for (i, (lv, rv)) in l.iter().zip(r).enumerate() {
                differences(lv, rv, &format!("{path}[{i}]"), out);
            }
        }
        _ if left != right => out.push(format!("{path}: {left} != {right}")),
        _ => {}
    }
}

#[track_caller]
fn assert_same_json(written: &Value, read: &Value, what: &str) {
    let mut diff = Vec::new();
    differences(written, read, "$", &mut diff);
    assert!(
        diff.is_empty(),
        "{what}: written JSON differs from the input (written != input):\n{}",
        diff.join("\n")
    );
}

/// Paths of every field that landed in an `extra` map rather than a typed
/// field (entities are all `extra` by design, so they are left out). A
/// typo'd `rename` would still round-trip, but would show up here.
fn unknown_fields(a: &Activity) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut note = |prefix: &str, extra: &serde_json::Map<String, Value>| {
        for key in extra.keys() {
            out.insert(if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            });
        }
    };
    note("", &a.extra);
    for (prefix, account) in [("from", &a.from), ("recipient", &a.recipient)] {
        if let Some(account) = account {
            note(prefix, &account.extra);
        }
    }
    if let Some(conversation) = &a.conversation {
        note("conversation", &conversation.extra);
    }
    for (prefix, members) in [
        ("membersAdded", &a.members_added),
        ("membersRemoved", &a.members_removed),
    ] {
        for (i, m) in members.iter().flatten().enumerate() {
            note(&format!("{prefix}[{i}]"), &m.extra);
        }
    }
    for (i, att) in a.attachments.iter().flatten().enumerate() {
        note(&format!("attachments[{i}]"), &att.extra);
    }
    if let Some(suggested) = &a.suggested_actions {
        note("suggestedActions", &suggested.extra);
        for (i, action) in suggested.actions.iter().enumerate() {
            note(&format!("suggestedActions.actions[{i}]"), &action.extra);
        }
    }
    if let Some(relates_to) = &a.relates_to {
        note("relatesTo", &relates_to.extra);
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn every_fixture_file_is_exercised() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("fixtures directory")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = ACTIVITIES
        .iter()
        .chain(REFERENCES)
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        on_disk, listed,
        "add new fixtures to ACTIVITIES or REFERENCES"
    );
}

#[test]
fn every_activity_fixture_round_trips_exactly() {
    for (name, json) in ACTIVITIES {
        let input = value(json);
        let activity = parse(json);
        let written = serde_json::to_value(&activity).unwrap();
        assert_same_json(&written, &input, name);

        // And the written form reads back to the same struct.
        let text = serde_json::to_string(&activity).unwrap();
        let again: Activity = serde_json::from_str(&text).unwrap();
        assert_eq!(again, activity, "{name}: second read differs");
    }
}

#[test]
fn every_reference_fixture_round_trips_exactly() {
    for (name, json) in REFERENCES {
        let input = value(json);
        let reference: ConversationReference = serde_json::from_str(json).unwrap();
        let written = serde_json::to_value(&reference).unwrap();
        assert_same_json(&written, &input, name);
    }
}

#[test]
fn documented_fields_are_typed_and_only_unknown_ones_are_extra() {
    let expected: &[(&str, &[&str])] = &[
        ("emulator_message.json", &[]),
        ("webchat_message.json", &[]),
        (
            "teams_conversation_update.json",
            &["membersAdded[0].userRole", "membersAdded[1].userRole"],
        ),
        ("teams_installation_update.json", &[]),
        ("teams_message_with_mention.json", &["conversation.foo"]),
        (
            "adaptive_card_with_suggested_actions.json",
            &["x-nudge-future"],
        ),
    ];
    assert_eq!(expected.len(), ACTIVITIES.len());
    for ((name, json), (expected_name, unknown)) in ACTIVITIES.iter().zip(expected) {
        assert_eq!(name, expected_name);
        assert_eq!(unknown_fields(&parse(json)), set(unknown), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Typed fields land where expected
// ---------------------------------------------------------------------------

#[test]
fn emulator_message_fields() {
    let a = parse(EMULATOR_MESSAGE);
    assert!(a.is(kind::MESSAGE));
    assert_eq!(a.channel_id.as_deref(), Some("emulator"));
    assert_eq!(a.service_url.as_deref(), Some("http://localhost:53817"));
    assert_eq!(
        a.text.as_deref(),
        Some("remind me \"stand-up\" at 09:00 ☕")
    );
    assert_eq!(a.text_format.as_deref(), Some("plain"));
    assert_eq!(a.locale.as_deref(), Some("en-US"));

    let from = a.from.as_ref().unwrap();
    assert_eq!(from.id, "8b2f5d3e-64c1-4a7e-9d0b-3c5e7f1a2b46");
    assert_eq!(from.role.as_deref(), Some("user"));
    assert_eq!(a.recipient.as_ref().unwrap().role.as_deref(), Some("bot"));
    assert!(a.conversation.as_ref().unwrap().id.ends_with("|livechat"));

    // Timestamps are kept verbatim (seven fractional digits, local offset)...
    assert_eq!(a.timestamp.as_deref(), Some("2026-11-20T14:03:27.0836152Z"));
    assert_eq!(
        a.local_timestamp.as_deref(),
        Some("2026-11-20T15:03:27+01:00")
    );
    assert_eq!(a.local_timezone.as_deref(), Some("Europe/Berlin"));
    // ...and still parse to the exact instant.
    let ts = a.timestamp_parsed().expect("timestamp parses");
    assert_eq!(ts.subsec_nanosecond(), 83_615_200);
    assert_eq!(ts.to_string(), "2026-11-20T14:03:27.0836152Z");

    // An empty `attachments` array is kept as an empty array, not dropped.
    assert_eq!(a.attachments.as_deref(), Some(&[][..]));

    let entities = a.entities.as_ref().unwrap();
    assert_eq!(entities[0].kind, "ClientCapabilities");
    assert_eq!(entities[0].extra["supportsTts"], json!(true));
    assert_eq!(entities[1].kind, "clientInfo");
    assert_eq!(entities[1].extra["timezone"], json!("Europe/Berlin"));

    let channel_data = a.channel_data.as_ref().unwrap();
    assert_eq!(channel_data["clientActivityID"], "1763647407082x4mq8t0ve3");
}

#[test]
fn webchat_message_fields() {
    let a = parse(WEBCHAT_MESSAGE);
    assert!(a.is(kind::MESSAGE));
    assert_eq!(a.channel_id.as_deref(), Some("webchat"));
    assert_eq!(
        a.service_url.as_deref(),
        Some("https://webchat.botframework.com/")
    );
    let conversation_id = &a.conversation.as_ref().unwrap().id;
    // Direct Line activity ids are `<conversation id>|<sequence>`.
    assert_eq!(
        a.id.as_deref(),
        Some(format!("{conversation_id}|0000003").as_str())
    );
    // Web Chat sends an empty display name; it is kept, not turned into None.
    let from = a.from.as_ref().unwrap();
    assert_eq!(from.name.as_deref(), Some(""));
    assert_eq!(from.role, None);
    assert_eq!(a.entities.as_ref().unwrap()[0].kind, "ClientCapabilities");
    let channel_data = a.channel_data.as_ref().unwrap();
    assert_eq!(channel_data["clientActivityID"], "1763647512497bq7tz3d0ng");
    assert_eq!(channel_data["attachmentSizes"], json!([]));
}

#[test]
fn teams_conversation_update_fields() {
    let a = parse(TEAMS_CONVERSATION_UPDATE);
    assert!(a.is(kind::CONVERSATION_UPDATE));
    assert!(
        a.is("conversationupdate"),
        "type compares case-insensitively"
    );
    assert_eq!(a.channel_id.as_deref(), Some("msteams"));

    let members = a.members_added.as_ref().unwrap();
    assert_eq!(members.len(), 2);
    assert!(members[0].id.starts_with("29:"));
    assert_eq!(
        members[0].aad_object_id.as_deref(),
        Some("3a9c1e57-0d2b-4f86-a4e1-7c5b9d2f0e83")
    );
    assert_eq!(members[0].extra["userRole"], "user");
    assert_eq!(members[1].extra["userRole"], "guest");
    assert_eq!(a.members_removed, None);

    let conversation = a.conversation.as_ref().unwrap();
    assert_eq!(conversation.is_group, Some(true));
    assert_eq!(conversation.conversation_type.as_deref(), Some("channel"));
    assert_eq!(
        conversation.tenant_id.as_deref(),
        Some("7d3f0c55-9b2e-4f6a-8c1d-2e5b7a9f4c31")
    );
    assert!(a.recipient.as_ref().unwrap().id.starts_with("28:"));

    let channel_data = a.channel_data.as_ref().unwrap();
    assert_eq!(channel_data["eventType"], "teamMemberAdded");
    assert_eq!(
        channel_data["tenant"]["id"],
        conversation.tenant_id.as_deref().unwrap()
    );
    assert_eq!(
        channel_data["settings"]["selectedChannel"]["id"],
        conversation.id.as_str()
    );
    assert_eq!(channel_data["team"]["name"], "Platform Operations");
}

#[test]
fn teams_installation_update_fields() {
    let a = parse(TEAMS_INSTALLATION_UPDATE);
    assert!(a.is(kind::INSTALLATION_UPDATE));
    assert_eq!(a.action.as_deref(), Some("add"));
    assert_eq!(a.locale.as_deref(), Some("de-DE"));
    // Three fractional digits this time: kept as sent.
    assert_eq!(a.timestamp.as_deref(), Some("2026-11-20T13:58:43.217Z"));

    let conversation = a.conversation.as_ref().unwrap();
    assert_eq!(conversation.name.as_deref(), Some("Releases"));
    assert_eq!(conversation.is_group, Some(true));

    let channel_data = a.channel_data.as_ref().unwrap();
    assert_eq!(channel_data["source"]["name"], "message");
    assert_eq!(
        channel_data["settings"]["selectedChannel"]["id"],
        conversation.id.as_str()
    );
    assert_eq!(
        channel_data["tenant"]["id"],
        conversation.tenant_id.as_deref().unwrap()
    );
}

#[test]
fn teams_message_with_mention_fields() {
    let a = parse(TEAMS_MESSAGE_WITH_MENTION);
    assert!(a.is(kind::MESSAGE));
    assert_eq!(
        a.text.as_deref(),
        Some("<at>Nudge</at> run nightly-report\n")
    );
    assert_eq!(a.text_format.as_deref(), Some("plain"));
    assert_eq!(a.reply_to_id.as_deref(), Some("1763647701882"));
    assert_eq!(a.local_timezone.as_deref(), Some("Europe/London"));

    let attachment = &a.attachments.as_ref().unwrap()[0];
    assert_eq!(attachment.content_type, "text/html");
    assert!(attachment
        .content
        .as_ref()
        .and_then(Value::as_str)
        .unwrap()
        .contains("http://schema.skype.com/Mention"));

    let recipient = a.recipient.as_ref().unwrap();
    let mention = &a.entities.as_ref().unwrap()[0];
    assert_eq!(mention.kind, "mention");
    assert_eq!(mention.extra["text"], "<at>Nudge</at>");
    assert_eq!(mention.extra["mentioned"]["id"], recipient.id.as_str());
    assert_eq!(a.entities.as_ref().unwrap()[1].kind, "clientInfo");

    let conversation = a.conversation.as_ref().unwrap();
    let channel_data = a.channel_data.as_ref().unwrap();
    let channel_id = channel_data["teamsChannelId"].as_str().unwrap();
    assert_eq!(
        conversation.id,
        format!(
            "{channel_id};messageid={}",
            a.reply_to_id.as_deref().unwrap()
        )
    );
    assert_eq!(channel_data["channel"]["id"], channel_id);
    assert_eq!(
        channel_data["teamsTeamId"],
        "19:c4f8a2e61b0d47e9a53f7d2c8b6e1a04@thread.tacv2"
    );
    assert_eq!(
        conversation.extra["foo"]["values"],
        json!([1, 2.5, -3, null, true, "x"])
    );
}

#[test]
fn adaptive_card_with_suggested_actions_fields() {
    let a = parse(ADAPTIVE_CARD);
    assert!(a.is(kind::MESSAGE));
    assert_eq!(a.id, None);
    assert_eq!(a.timestamp, None);
    assert_eq!(a.attachment_layout.as_deref(), Some("list"));
    assert_eq!(a.input_hint.as_deref(), Some("expectingInput"));
    assert_eq!(a.importance.as_deref(), Some("high"));
    assert_eq!(a.delivery_mode.as_deref(), Some("normal"));
    assert!(a.speak.as_deref().unwrap().starts_with("<speak"));
    assert_eq!(a.summary.as_deref(), Some("2 recordatorios pendientes"));

    let card = &a.attachments.as_ref().unwrap()[0];
    assert_eq!(card.content_type, ADAPTIVE_CARD_CONTENT_TYPE);
    let content = card.content.as_ref().unwrap();
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(
        content["actions"][0]["data"]["reminderIds"],
        json!([41, 42])
    );

    let suggested = a.suggested_actions.as_ref().unwrap();
    let user_id = a.recipient.as_ref().unwrap().id.clone();
    assert_eq!(suggested.to, Some(vec![user_id]));
    let kinds: Vec<&str> = suggested.actions.iter().map(|x| x.kind.as_str()).collect();
    assert_eq!(kinds, ["imBack", "messageBack", "openUrl"]);
    assert_eq!(suggested.actions[0].value, Some(json!("done 41")));
    let message_back = &suggested.actions[1];
    assert_eq!(message_back.text.as_deref(), Some("snooze all"));
    assert_eq!(
        message_back.display_text.as_deref(),
        Some("Posponer todo 15 min")
    );
    assert_eq!(
        message_back.image_alt_text.as_deref(),
        Some("Reloj de arena")
    );
    assert_eq!(message_back.value.as_ref().unwrap()["minutes"], 15);
    assert_eq!(
        suggested.actions[2].channel_data,
        Some(json!({ "target": "_blank" }))
    );

    assert_eq!(a.semantic_action.as_ref().unwrap()["state"], "continue");
    let future = &a.extra["x-nudge-future"];
    assert_eq!(future["big"].as_u64(), Some(12_345_678_901_234_567_890));
    assert_eq!(future["ratio"].as_f64(), Some(0.1));
    assert_eq!(future["nothing"], Value::Null);
}

// ---------------------------------------------------------------------------
// Conversation references
// ---------------------------------------------------------------------------

#[test]
fn conversation_reference_copies_accounts_and_conversation_verbatim() {
    for (name, json) in ACTIVITIES {
        let input = value(json);
        let a = parse(json);
        let r = a.conversation_reference();
        assert_same_json(&as_json(&r.user), &input["from"], name);
        assert_same_json(&as_json(&r.bot), &input["recipient"], name);
        assert_same_json(&as_json(&r.conversation), &input["conversation"], name);
        assert_eq!(as_json(&r.channel_id), input["channelId"], "{name}");
        assert_eq!(as_json(&r.service_url), input["serviceUrl"], "{name}");
        assert_eq!(as_json(&r.activity_id), input["id"], "{name}");
        assert_eq!(as_json(&r.locale), input["locale"], "{name}");
        assert!(r.extra.is_empty());
    }
}

#[test]
fn conversation_reference_keeps_unknown_account_fields() {
    let mut input = value(TEAMS_MESSAGE_WITH_MENTION);
    input["from"]["userPrincipalName"] = json!("dana.whitfield@contoso.example");
    input["from"]["x-nudge-future"] = json!({ "nested": [null, 1] });
    input["recipient"]["x-bot-hint"] = json!(null);
    let a: Activity = serde_json::from_value(input.clone()).unwrap();

    let r = a.conversation_reference();
    let user = r.user.as_ref().unwrap();
    assert_eq!(
        user.extra["userPrincipalName"],
        "dana.whitfield@contoso.example"
    );
    assert_eq!(
        serde_json::to_value(&r.user).unwrap(),
        input["from"],
        "user written back exactly"
    );
    assert_eq!(serde_json::to_value(&r.bot).unwrap(), input["recipient"]);
    assert_eq!(
        serde_json::to_value(&r.conversation).unwrap(),
        input["conversation"]
    );
}

#[test]
fn conversation_reference_round_trips_through_storage() {
    for (name, json) in ACTIVITIES {
        let reference = parse(json).conversation_reference();
        let stored = serde_json::to_string(&reference).unwrap();
        let loaded: ConversationReference = serde_json::from_str(&stored).unwrap();
        assert_eq!(loaded, reference, "{name}");
        assert_eq!(
            serde_json::to_value(&loaded).unwrap(),
            serde_json::to_value(&reference).unwrap(),
            "{name}"
        );
    }

    let r = parse(TEAMS_MESSAGE_WITH_MENTION).conversation_reference();
    let written = serde_json::to_value(&r).unwrap();
    let keys: BTreeSet<String> = written.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        set(&[
            "activityId",
            "bot",
            "channelId",
            "conversation",
            "locale",
            "serviceUrl",
            "user"
        ])
    );
}

#[test]
fn stored_reference_fixture_keeps_unknown_fields() {
    let r: ConversationReference = serde_json::from_str(TEAMS_REFERENCE).unwrap();
    assert_eq!(r.channel_id.as_deref(), Some("msteams"));
    assert_eq!(r.extra["x-nudge-future"], json!(["kept", 1]));
    let user = r.user.as_ref().unwrap();
    assert_eq!(
        user.extra["userPrincipalName"],
        "dana.whitfield@contoso.example"
    );
    let conversation = r.conversation.as_ref().unwrap();
    assert_eq!(
        conversation.tenant_id.as_deref(),
        Some("7d3f0c55-9b2e-4f6a-8c1d-2e5b7a9f4c31")
    );
    assert!(conversation.extra.is_empty());
}

// ---------------------------------------------------------------------------
// Addressing
// ---------------------------------------------------------------------------

#[test]
fn addressed_as_reply_to_swaps_accounts_and_threads_the_reply() {
    let incoming = parse(TEAMS_MESSAGE_WITH_MENTION);
    let reply = Activity::message("Running nightly-report…").addressed_as_reply_to(&incoming);

    assert!(reply.is(kind::MESSAGE));
    assert_eq!(reply.text.as_deref(), Some("Running nightly-report…"));
    assert_eq!(reply.from, incoming.recipient);
    assert_eq!(reply.recipient, incoming.from);
    assert_eq!(reply.conversation, incoming.conversation);
    assert_eq!(reply.channel_id, incoming.channel_id);
    assert_eq!(reply.service_url, incoming.service_url);
    assert_eq!(reply.reply_to_id, incoming.id);
    assert_eq!(reply.locale.as_deref(), Some("en-GB"));
    // Nothing else of the incoming activity leaks into the reply.
    assert_eq!(reply.id, None);
    assert_eq!(reply.timestamp, None);
    assert_eq!(reply.entities, None);
    assert_eq!(reply.channel_data, None);
    assert!(reply.extra.is_empty());

    // The thread id (`;messageid=`) and unknown conversation fields go out
    // exactly as they came in.
    let written = serde_json::to_value(&reply).unwrap();
    let input = value(TEAMS_MESSAGE_WITH_MENTION);
    assert_eq!(written["conversation"], input["conversation"]);
    assert_eq!(written["from"], input["recipient"]);
    assert_eq!(written["recipient"], input["from"]);
    assert_eq!(written["replyToId"], input["id"]);
}

#[test]
fn addressed_as_reply_to_keeps_an_explicit_locale() {
    let incoming = parse(EMULATOR_MESSAGE);
    let mut reply = Activity::message("Bonjour");
    reply.locale = Some("fr-FR".into());
    let reply = reply.addressed_as_reply_to(&incoming);
    assert_eq!(reply.locale.as_deref(), Some("fr-FR"));
    assert_eq!(reply.reply_to_id, incoming.id);
}

#[test]
fn addressed_to_speaks_from_the_bot_to_the_user() {
    let incoming = parse(EMULATOR_MESSAGE);
    let reference = incoming.conversation_reference();
    let typing = Activity::typing().addressed_to(&reference);

    assert!(typing.is(kind::TYPING));
    assert_eq!(typing.from, reference.bot);
    assert_eq!(typing.recipient, reference.user);
    assert_eq!(typing.conversation, reference.conversation);
    assert_eq!(typing.channel_id.as_deref(), Some("emulator"));
    assert_eq!(
        typing.service_url.as_deref(),
        Some("http://localhost:53817")
    );
    assert_eq!(typing.locale.as_deref(), Some("en-US"));
    // Proactive: not a reply to anything.
    assert_eq!(typing.reply_to_id, None);
    assert_eq!(typing.id, None);

    let mut message = Activity::message("hola");
    message.locale = Some("es-ES".into());
    assert_eq!(
        message.addressed_to(&reference).locale.as_deref(),
        Some("es-ES")
    );
}

#[test]
fn addressed_to_a_stored_reference_matches_the_reply_addressing() {
    for (name, json) in ACTIVITIES {
        let incoming = parse(json);
        let stored = serde_json::to_string(&incoming.conversation_reference()).unwrap();
        let loaded: ConversationReference = serde_json::from_str(&stored).unwrap();

        let proactive = Activity::message("later").addressed_to(&loaded);
        let mut reply = Activity::message("later").addressed_as_reply_to(&incoming);
        reply.reply_to_id = None;
        assert_eq!(proactive, reply, "{name}");
    }
}

#[test]
fn addressed_to_the_stored_reference_fixture_carries_unknown_user_fields() {
    let reference: ConversationReference = serde_json::from_str(TEAMS_REFERENCE).unwrap();
    let written = serde_json::to_value(Activity::message("ping").addressed_to(&reference)).unwrap();
    let input = value(TEAMS_REFERENCE);
    assert_eq!(written["recipient"], input["user"]);
    assert_eq!(written["from"], input["bot"]);
    assert_eq!(written["conversation"], input["conversation"]);
    assert_eq!(written["serviceUrl"], input["serviceUrl"]);
    assert_eq!(written["locale"], "en-GB");
    assert!(written.get("replyToId").is_none());
    assert!(written.get("x-nudge-future").is_none());
}

// ---------------------------------------------------------------------------
// Known limitations, pinned so that a change is a decision
// ---------------------------------------------------------------------------

/// An explicit `null` in a typed optional field reads as absent and is not
/// written back; the schema gives both the same meaning, and no SDK writes
/// `null`. Nulls in unknown fields and in opaque JSON are kept.
#[test]
fn explicit_null_in_a_typed_field_is_dropped_on_write() {
    let input = json!({
        "type": "message",
        "id": null,
        "replyToId": null,
        "from": { "id": "u1", "name": null, "x-extra": null },
        "channelData": { "clientActivityID": null },
        "value": null,
        "x-unknown": null
    });
    let a: Activity = serde_json::from_value(input).unwrap();
    assert_eq!(a.reply_to_id, None);
    assert_eq!(a.value, None);
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({
            "type": "message",
            "from": { "id": "u1", "x-extra": null },
            "channelData": { "clientActivityID": null },
            "x-unknown": null
        })
    );
}

/// The few required plain fields read `null` or absence as empty instead of
/// failing the whole activity, and are then written back as empty.
#[test]
fn required_fields_read_null_or_missing_as_empty() {
    let input = json!({
        "type": "message",
        "from": { "name": "no id" },
        "recipient": { "id": null },
        "conversation": { "id": null, "isGroup": null },
        "attachments": [ { "contentType": null, "content": {} } ],
        "entities": [ { "text": "untyped" } ],
        "suggestedActions": { "actions": null, "to": ["u1"] }
    });
    let a: Activity = serde_json::from_value(input).unwrap();
    assert_eq!(a.from.as_ref().unwrap().id, "");
    assert_eq!(a.recipient.as_ref().unwrap().id, "");
    assert_eq!(a.attachments.as_ref().unwrap()[0].content_type, "");
    assert_eq!(a.entities.as_ref().unwrap()[0].kind, "");
    assert!(a.suggested_actions.as_ref().unwrap().actions.is_empty());
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({
            "type": "message",
            "from": { "id": "", "name": "no id" },
            "recipient": { "id": "" },
            "conversation": { "id": "" },
            "attachments": [ { "contentType": "", "content": {} } ],
            "entities": [ { "type": "", "text": "untyped" } ],
            "suggestedActions": { "to": ["u1"], "actions": [] }
        })
    );
}

/// Field names are matched exactly. A mis-cased name (which the spec lets
/// receivers reject or accept) is not read into the typed field, but it is
/// kept and written back unchanged.
#[test]
fn mis_cased_field_names_are_kept_as_unknown() {
    let input = json!({ "type": "message", "ReplyToId": "1", "ChannelId": "msteams" });
    let a: Activity = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(a.reply_to_id, None);
    assert_eq!(a.channel_id, None);
    assert_eq!(serde_json::to_value(&a).unwrap(), input);
}
