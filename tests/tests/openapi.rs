//! `openapi.yaml` against the running routes: every documented path and
//! method is served, methods it does not document answer 405 and paths it
//! does not document 404, and what comes back validates against the
//! documented schemas (the client checks every answer, here and in every
//! webhook API test). The checker itself is tested too, so a pass means
//! something.

use nudge_tests::api::ApiHarness;
use nudge_tests::api_spec::spec;
use reqwest::Method;
use serde_json::Value;

/// A concrete path for a template (path parameters filled in).
fn concrete(template: &str) -> String {
    template.replace("{id}", "k3x9p2qa")
}

#[test]
fn the_document_is_openapi_3_1_and_every_schema_compiles() {
    let doc = spec().document();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(schemas.len() > 10);
    for name in schemas.keys() {
        // Validating anything compiles the schema: a bad $ref or keyword
        // fails here rather than in some later check.
        if let Err(e) = spec().validate(&spec().schema(name), &Value::Null) {
            assert!(!e.contains("does not compile"), "{name}: {e}");
        }
    }
    let text = serde_json::to_string(doc).unwrap();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let pointer = reference.split('"').next().unwrap();
        assert!(
            doc.pointer(pointer.trim_start_matches('#')).is_some(),
            "{pointer} resolves"
        );
    }
}

#[test]
fn the_checker_refuses_answers_the_document_does_not_allow() {
    let json = Some("application/json");
    let accepted = br#"{"notificationId": "n-1", "recipients": 2}"#;
    let check = |method, path, status, body: &[u8]| spec().check(method, path, status, json, body);
    assert_eq!(check("POST", "/api/notify", 202, accepted), Ok(()));
    assert!(check("POST", "/api/notify", 202, br#"{"notificationId": "n-1"}"#).is_err());
    assert!(check(
        "POST",
        "/api/notify",
        202,
        br#"{"id": 1, "recipients": -1}"#
    )
    .is_err());
    assert!(
        check("POST", "/api/notify", 200, accepted).is_err(),
        "undocumented status"
    );
    assert!(
        check("PUT", "/api/notify", 200, accepted).is_err(),
        "undocumented method"
    );
    assert!(
        check("GET", "/api/elsewhere", 200, accepted).is_err(),
        "undocumented path"
    );
    let error = br#"{"error": {"code": "JobNotFound", "message": "no"}}"#;
    assert_eq!(check("POST", "/api/jobs/abc/complete", 404, error), Ok(()));
    assert!(check("POST", "/api/jobs/abc/complete", 404, br#"{"error": "no"}"#).is_err());
    assert_eq!(
        spec().check(
            "GET",
            "/healthz",
            200,
            Some("text/plain; charset=utf-8"),
            b"ok"
        ),
        Ok(())
    );
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_is() {
    let s = ApiHarness::start("openapi-routes").await;
    let operations = spec().operations();
    assert!(operations.len() >= 8, "{operations:?}");
    for (method, template) in &operations {
        let method: Method = method.parse().unwrap();
        let body = if method == Method::POST { "{}" } else { "" };
        let answer = s
            .api
            .request(method.clone(), &concrete(template), body.into(), &[])
            .await;
        assert!(
            !matches!(answer.code(), "NotFound" | "MethodNotAllowed"),
            "{method} {template} is documented but not served: {} {}",
            answer.status,
            answer.body
        );
    }
    for (path, documented) in spec().document()["paths"].as_object().unwrap() {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if documented.get(method.to_lowercase()).is_some() {
                continue;
            }
            let answer = s
                .api
                .request(method.parse().unwrap(), &concrete(path), String::new(), &[])
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (405, "MethodNotAllowed"),
                "{method} {path} is not documented"
            );
        }
    }
    for path in [
        "/",
        "/api",
        "/api/notify/extra",
        "/api/jobs/k3x9p2qa",
        "/api/jobs/k3x9p2qa/complete/now",
        "/api/reminders/k3x9p2qa",
        "/api/notifications",
        "/api/conversation",
        "/healthz/deep",
    ] {
        let answer = s.api.get(path).await;
        assert_eq!((answer.status, answer.code()), (404, "NotFound"), "{path}");
    }
    s.host.stop().await;
}
