//! Validation of recorded exchanges against GitHub's `OpenAPI` description
//! (`@octokit/openapi`'s `generated/api.github.com.json`, `OpenAPI` 3.0: `nullable`, `$ref`,
//! `allOf`/`anyOf`/`oneOf`, `enum`, `required`, `additionalProperties`).

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use super::Exchange;

pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let node = std::env::var_os("PYPI_OIDC_PUBLISH_TEST_NODE").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-env/node/node_modules"),
            PathBuf::from,
        );
        let path = node.join("@octokit/openapi/generated/api.github.com.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!("{} is missing ({error}): run scripts/test.sh --setup (it installs tests/node/package.json)", path.display())
        });
        serde_json::from_str(&text).unwrap()
    })
}

fn operation<'a>(spec: &'a Value, id: &str) -> Option<&'a Value> {
    spec["paths"].as_object()?.values().find_map(|item| {
        item.as_object()?
            .values()
            .find(|op| op["operationId"].as_str() == Some(id))
    })
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        match schema["$ref"].as_str() {
            Some(reference) => {
                schema = spec
                    .pointer(reference.trim_start_matches('#'))
                    .unwrap_or(&Value::Null);
            }
            None => break,
        }
    }
    schema
}

/// Problems of `value` against `schema`, each with its JSON path.
pub fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if value.is_null() {
        let nullable = schema["nullable"].as_bool() == Some(true)
            || (schema.get("type").is_none()
                && schema.get("allOf").is_none()
                && schema.get("anyOf").is_none()
                && schema.get("oneOf").is_none());
        let alternatives_allow = ["anyOf", "oneOf"].iter().any(|key| {
            schema[*key].as_array().is_some_and(|options| {
                options.iter().any(|option| {
                    let mut inner = Vec::new();
                    validate(spec, option, value, at, &mut inner);
                    inner.is_empty()
                })
            })
        });
        if !(nullable || alternatives_allow) {
            problems.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for option in all {
            validate(spec, option, value, at, problems);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let matches = options
                .iter()
                .filter(|option| {
                    let mut inner = Vec::new();
                    validate(spec, option, value, at, &mut inner);
                    inner.is_empty()
                })
                .count();
            if matches == 0 {
                problems.push(format!("{at}: matches none of {key}"));
            }
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            problems.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        problems.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(object) = value.as_object() {
        if let Some(required) = schema["required"].as_array() {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    problems.push(format!("{at}: required property `{name}` is missing"));
                }
            }
        }
        let properties = schema["properties"].as_object();
        for (name, item) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => {
                    validate(spec, property, item, &format!("{at}.{name}"), problems);
                }
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => {
                        problems.push(format!("{at}: property `{name}` is not allowed"));
                    }
                    extra @ Value::Object(_) => {
                        validate(spec, extra, item, &format!("{at}.{name}"), problems);
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            validate(
                spec,
                schema_items,
                item,
                &format!("{at}[{index}]"),
                problems,
            );
        }
    }
}

/// Validate every recorded JSON request and response of a documented operation. Returns
/// the problems and how many bodies were checked.
pub fn check(exchanges: &[Exchange]) -> (Vec<String>, usize) {
    let spec = spec();
    let mut problems = Vec::new();
    let mut checked = 0;
    for exchange in exchanges {
        let Some(op) = operation(spec, exchange.operation) else {
            continue; // storage downloads, deliberate 401/403 answers
        };
        let label = format!(
            "{} {} ({})",
            exchange.method, exchange.path, exchange.operation
        );
        if let Some(request) = &exchange.request {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                problems.push(format!("{label}: the operation takes no JSON body"));
            } else {
                checked += 1;
                validate(
                    spec,
                    schema,
                    request,
                    &format!("{label} request"),
                    &mut problems,
                );
            }
        }
        if exchange.status >= 500 {
            continue; // injected faults: GitHub documents no body for them
        }
        let response = resolve(spec, &op["responses"][exchange.status.to_string()]);
        if response.is_null() {
            // The description leaves out some real answers (a 422 when publishing a
            // draft whose tag another release took): such errors must still have
            // GitHub's error shapes.
            let fallback = match exchange.status {
                422 => "#/components/schemas/validation-error",
                400..=499 => "#/components/schemas/basic-error",
                _ => {
                    problems.push(format!(
                        "{label}: status {} is not documented",
                        exchange.status
                    ));
                    continue;
                }
            };
            if let Some(body) = &exchange.response {
                checked += 1;
                let schema = serde_json::json!({ "$ref": fallback });
                let at = format!("{label} response {}", exchange.status);
                validate(spec, &schema, body, &at, &mut problems);
            }
            continue;
        }
        if let Some(body) = &exchange.response {
            let schema = &response["content"]["application/json"]["schema"];
            if !schema.is_null() {
                checked += 1;
                validate(
                    spec,
                    schema,
                    body,
                    &format!("{label} response {}", exchange.status),
                    &mut problems,
                );
            }
        }
    }
    (problems, checked)
}
