//! Checks of a service's OpenAPI document that every service's tests make.

use serde_json::Value;

/// Every `$ref` under `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// Panics unless `document` has references and each names a schema in its components. A
/// schema named only by a query parameter's `value_type` is not collected by the route table,
/// and a dangling reference makes validators and client generators refuse the document.
pub fn assert_references_resolve(document: &Value) {
    let mut found = Vec::new();
    references(document, &mut found);
    assert!(!found.is_empty(), "the document has no references");
    for target in found {
        let name = target.trim_start_matches("#/components/schemas/");
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
}
