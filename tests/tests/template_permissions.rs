//! The DynamoDB actions each Lambda function's role allows in
//! `template.yaml`, against what its code calls. moto does not enforce IAM,
//! so the end-to-end tests cannot notice a missing action; a deployed
//! function would fail with AccessDenied on its first such call.

use std::collections::BTreeSet;

use serde_norway::Value;

/// What each function's code calls on the table (`store::dynamodb`):
/// - messages: references, jobs, reminders, subscriptions (transactions of
///   updates and deletes), counters (`BatchGetItem`), listings (`Query`);
/// - notifier: delivery claims and records, rate limits, fan-out listings;
/// - reminder: due reminders (`Query`), advancing them, and reading a due
///   reminder's conversation to park it when it is closed (`GetItem`).
const NEEDS: [(&str, &[&str]); 3] = [
    (
        "MessagesFunction",
        &[
            "GetItem",
            "BatchGetItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
        ],
    ),
    ("NotifierFunction", &["GetItem", "UpdateItem", "Query"]),
    ("ReminderFunction", &["GetItem", "UpdateItem", "Query"]),
];

/// Every `dynamodb:` action the function's inline policies allow.
fn allowed(template: &Value, function: &str) -> BTreeSet<String> {
    let policies = &template["Resources"][function]["Properties"]["Policies"];
    let mut actions = BTreeSet::new();
    for policy in policies.as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let listed: Vec<&Value> = match &statement["Action"] {
                Value::Sequence(list) => list.iter().collect(),
                one => vec![one],
            };
            for action in listed.into_iter().filter_map(Value::as_str) {
                if let Some(name) = action.strip_prefix("dynamodb:") {
                    actions.insert(name.to_owned());
                }
            }
        }
    }
    actions
}

#[test]
fn each_function_may_make_the_table_calls_its_code_makes() {
    let template: Value =
        serde_norway::from_str(include_str!("../../template.yaml")).expect("template.yaml parses");
    for (function, needs) in NEEDS {
        let allowed = allowed(&template, function);
        let missing: Vec<&&str> = needs.iter().filter(|a| !allowed.contains(**a)).collect();
        assert!(
            missing.is_empty(),
            "{function} may not call {missing:?} (allowed: {allowed:?})"
        );
    }
}
