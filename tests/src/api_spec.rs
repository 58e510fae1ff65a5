//! The repository's `openapi.yaml`, and checks that an answer is one it
//! documents: the path and method exist, the status is listed for them (or
//! covered by `default`), and the body validates against the documented
//! schema (JSON Schema 2020-12, which OpenAPI 3.1 schemas are).
//!
//! Every call made through [`crate::api::ApiClient`] is checked this way,
//! so each webhook API test is also a test of the document.

use std::sync::OnceLock;

use serde_json::{json, Value};

/// The document, parsed once.
pub fn spec() -> &'static ApiSpec {
    static SPEC: OnceLock<ApiSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let doc: Value = serde_norway::from_str(include_str!("../../openapi.yaml"))
            .expect("openapi.yaml is YAML");
        ApiSpec { doc }
    })
}

pub struct ApiSpec {
    doc: Value,
}

/// HTTP methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl ApiSpec {
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every documented operation, as (method in upper case, path template).
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut operations = Vec::new();
        for (path, item) in self.paths() {
            for method in METHODS {
                if item.get(method).is_some() {
                    operations.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    fn paths(&self) -> serde_json::Map<String, Value> {
        self.doc["paths"].as_object().cloned().unwrap_or_default()
    }

    /// The documented template a concrete path (no query) matches.
    pub fn template_for(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.paths()
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(t, s)| {
                        (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                    })
            })
            .cloned()
    }

    /// Whether this answer is one the document allows; the error says why
    /// not.
    pub fn check(
        &self,
        method: &str,
        path_and_query: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let path = path_and_query.split('?').next().unwrap_or_default();
        let Some(template) = self.template_for(path) else {
            return match status {
                404 => Ok(()),
                _ => Err(format!("{path} is not documented, yet answered {status}")),
            };
        };
        let Some(operation) = self.doc["paths"][&template].get(method.to_lowercase()) else {
            return match status {
                405 => Ok(()),
                _ => Err(format!(
                    "{method} {template} is not documented, yet answered {status}"
                )),
            };
        };
        let responses = &operation["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| (status >= 500).then(|| responses.get("default")).flatten())
            .ok_or_else(|| format!("{method} {template} does not document status {status}"))?;
        let response = self.resolve(response);
        if body.is_empty() {
            return Ok(());
        }
        let media = content_type
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .trim();
        let schema = response["content"]
            .get(media)
            .map(|c| &c["schema"])
            .ok_or_else(|| {
                format!("{method} {template} {status}: content type {media:?} is not documented")
            })?;
        let instance: Value = if media == "application/json" {
            serde_json::from_slice(body)
                .map_err(|e| format!("{method} {template} {status}: body is not JSON: {e}"))?
        } else {
            Value::String(String::from_utf8_lossy(body).into_owned())
        };
        self.validate(schema, &instance)
            .map_err(|e| format!("{method} {template} {status}: {e}\nbody: {instance}"))
    }

    /// Validates `instance` against a schema of the document (which may
    /// refer to its components).
    pub fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        if let Some(object) = root.as_object_mut() {
            object.insert("components".into(), self.doc["components"].clone());
        }
        let validator = jsonschema::draft202012::new(&root)
            .map_err(|e| format!("the documented schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// A component schema by name.
    pub fn schema(&self, name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// Follows a `$ref` to `#/components/...`.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or(value),
            None => value,
        }
    }
}
