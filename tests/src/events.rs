//! Lambda events as AWS services send them, built from the payloads under
//! `tests/fixtures/lambda` (generated with `sam local generate-event`) with
//! the fields a test cares about filled in.

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use jiff::Timestamp;
use serde_json::{json, Map, Value};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lambda")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// An API Gateway HTTP API (payload 2.0) request for `POST {path}` with
/// these headers and body.
pub fn http_request(method: &str, path: &str, headers: &[(&str, String)], body: &str) -> Value {
    let mut event = fixture("apigateway-http-api.json");
    let header_map: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::String(value.clone())))
        .collect();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!("");
    event["headers"] = Value::Object(header_map);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["timeEpoch"] = json!(Timestamp::now().as_millisecond());
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    for absent in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        if let Some(fields) = event.as_object_mut() {
            fields.remove(absent);
        }
    }
    event
}

/// An SQS event delivering these received messages, as the event source
/// builds it from a `ReceiveMessage` answer.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let template = fixture("sqs-receive-message.json")["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let mut record = template.clone();
            record["messageId"] = json!(message.message_id);
            record["receiptHandle"] = json!(message.receipt_handle);
            record["body"] = json!(message.body);
            record["md5OfBody"] = json!(message.md5_of_body);
            record["eventSourceARN"] = json!(queue_arn);
            let attributes = message.attributes.clone().unwrap_or_default();
            for name in [
                MessageSystemAttributeName::ApproximateReceiveCount,
                MessageSystemAttributeName::SentTimestamp,
            ] {
                if let Some(value) = attributes.get(&name) {
                    record["attributes"][name.as_str()] = json!(value);
                }
            }
            let user_attributes: Map<String, Value> = message
                .message_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| {
                    (
                        name,
                        json!({
                            "stringValue": value.string_value,
                            "stringListValues": [],
                            "binaryListValues": [],
                            "dataType": value.data_type,
                        }),
                    )
                })
                .collect();
            record["messageAttributes"] = Value::Object(user_attributes);
            record
        })
        .collect();
    json!({ "Records": records })
}

/// What an EventBridge rule (SAM `Schedule`) sends for a tick at `time`.
pub fn scheduled_event(time: Timestamp) -> Value {
    let mut event = fixture("eventbridge-scheduled-event.json");
    event["time"] = json!(time.to_string());
    event
}

/// What the EventBridge Scheduler schedule (SAM `ScheduleV2`) sends for a
/// tick at `time`.
pub fn scheduler_input(time: Timestamp) -> Value {
    let mut event = fixture("scheduler-input.json");
    event["scheduledTime"] = json!(time.to_string());
    event
}
