//! Merging the services' documents into the one clients read.
//!
//! The result must be a valid OpenAPI 3.1 document in its own right (the contract test holds
//! it to that), whichever services are running:
//! - an operation is kept only if the route table sends its method and path to the service
//!   that documents it (one a client cannot reach through the gateway is left out, logged),
//!   and gets the answers the gateway itself can give on its route (`edge`);
//! - operation ids are prefixed with their service (`catalog_get_product`): unique across
//!   services, and the same whichever services are up when a client is generated;
//! - components of every kind (`schemas`, `responses`, `parameters`, ...) are shared when two
//!   services define a name alike, and renamed `<service>.<Name>` (with every reference to
//!   them) when they mean different things by it;
//! - security schemes are the gateway's (`bearer`): every service reads the same tokens, so a
//!   service's scheme of the same name is that one;
//! - operations without a tag are tagged with their service.

use super::edge;
use crate::route_table::RouteTable;
use http::Method;
use serde_json::{Map, Value, json};

/// A service's document, fetched from one of its endpoints.
pub struct ServiceDoc {
    pub service: String,
    pub doc: Value,
}

/// The operation keys of a path item.
pub(super) const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

/// Component kinds whose entries are referred to as `#/components/<kind>/<name>`.
const REFERABLE: [&str; 9] = [
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
    "pathItems",
];

/// The merged document: the gateway's own, then `docs` in order.
pub fn merge(version: &str, table: &RouteTable, docs: &[ServiceDoc]) -> Value {
    let own = edge::own_document();
    let mut paths = own["paths"].as_object().cloned().unwrap_or_default();
    let mut components = own["components"].as_object().cloned().unwrap_or_default();
    let mut tags: Vec<Value> = own["tags"].as_array().cloned().unwrap_or_default();
    for ServiceDoc { service, doc } in docs {
        let mut doc = doc.clone();
        merge_components(&mut components, &mut doc, service);
        for tag in doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = tag.get("name");
            if !tags.iter().any(|known| known.get("name") == name) {
                tags.push(tag.clone());
            }
        }
        let Some(Value::Object(service_paths)) = doc.get_mut("paths") else {
            continue;
        };
        for (path, item) in std::mem::take(service_paths) {
            let Value::Object(mut item) = item else {
                continue;
            };
            keep_reachable(&mut item, table, service, &path);
            if !METHODS.iter().any(|(key, _)| item.contains_key(*key)) {
                continue;
            }
            match paths.get_mut(&path) {
                // Two services share a path with different methods: the route table sends
                // each method to its own service.
                Some(Value::Object(known)) => {
                    for (key, _) in METHODS {
                        if let Some(operation) = item.remove(key) {
                            known.entry(key).or_insert(operation);
                        }
                    }
                }
                _ => {
                    paths.insert(path, Value::Object(item));
                }
            }
        }
    }
    components.insert(
        "securitySchemes".into(),
        own["components"]["securitySchemes"].clone(),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Faded Skies API",
            "description": "Every service behind the gateway. Send `Authorization: Bearer <access token>` from `/api/auth/login`. Errors are `application/problem+json` (`ProblemBody`).",
            "version": version,
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths,
        "components": components,
    })
}

/// Keeps the operations of `item` that the route table sends to `service`, each with its id
/// prefixed, a tag, and the gateway's own answers on its route.
fn keep_reachable(item: &mut Map<String, Value>, table: &RouteTable, service: &str, path: &str) {
    let concrete = concrete_path(path);
    for (key, method) in METHODS {
        let Some(Value::Object(operation)) = item.get_mut(key) else {
            continue;
        };
        let route = table.find(&method, &concrete).filter(|route| {
            table
                .clusters
                .get(route.cluster)
                .is_some_and(|cluster| cluster.name == service)
        });
        let Some(route) = route else {
            tracing::warn!(
                %service, %method, %path,
                "documented operation left out of /openapi.json: the routes file does not send it to its service"
            );
            item.remove(key);
            continue;
        };
        if let Some(Value::String(id)) = operation.get_mut("operationId") {
            *id = format!("{service}_{id}");
        }
        let untagged = operation
            .get("tags")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if untagged {
            operation.insert("tags".into(), json!([service]));
        }
        edge::add_edge_answers(operation, route, &table.policies);
    }
}

/// A path for the route table to match: each `{placeholder}` stands for one segment.
fn concrete_path(template: &str) -> String {
    let mut concrete = String::with_capacity(template.len());
    let mut inside = false;
    for character in template.chars() {
        match character {
            '{' => {
                inside = true;
                concrete.push('x');
            }
            '}' => inside = false,
            _ if inside => {}
            _ => concrete.push(character),
        }
    }
    concrete
}

/// Moves `doc`'s components into `merged`, renaming the ones that clash.
fn merge_components(merged: &mut Map<String, Value>, doc: &mut Value, service: &str) {
    for kind in REFERABLE {
        // A rename changes the definitions that refer to the renamed one, which may then
        // clash in turn: rename until nothing more clashes.
        let mut renamed: Vec<String> = Vec::new();
        loop {
            let clashing: Vec<String> = doc
                .pointer(&format!("/components/{kind}"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(name, definition)| {
                    !renamed.contains(name)
                        && merged
                            .get(kind)
                            .and_then(|known| known.get(name.as_str()))
                            .is_some_and(|known| known != *definition)
                })
                .map(|(name, _)| name.clone())
                .collect();
            if clashing.is_empty() {
                break;
            }
            for name in clashing {
                rewrite_refs(
                    doc,
                    &format!("#/components/{kind}/{name}"),
                    &format!("#/components/{kind}/{service}.{name}"),
                );
                renamed.push(name);
            }
        }
        let Some(Value::Object(own)) = doc.pointer_mut(&format!("/components/{kind}")) else {
            continue;
        };
        let target = merged
            .entry(kind)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(target) = target else {
            continue;
        };
        for (name, definition) in std::mem::take(own) {
            let key = if renamed.contains(&name) {
                format!("{service}.{name}")
            } else {
                name
            };
            target.entry(key).or_insert(definition);
        }
    }
}

fn rewrite_refs(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "$ref" && inner.as_str() == Some(old) {
                    *inner = Value::String(new.to_owned());
                } else {
                    rewrite_refs(inner, old, new);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|inner| rewrite_refs(inner, old, new)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = r#"
clusters:
  auth: { endpoints: ["127.0.0.1:1"] }
  catalog: { endpoints: ["127.0.0.1:2"] }
  tracking: { endpoints: ["127.0.0.1:3"] }
rate_limits:
  api: { requests: 100, window_secs: 900, per: user_or_ip }
defaults:
  rate_limits: [api]
routes:
  - path: /api/auth/login
    methods: [POST]
    cluster: auth
    auth: none
  - pattern: /api/products/{id}/tracking
    cluster: tracking
    auth: required
  - prefix: /api/products
    cluster: catalog
  - prefix: /api/admin/products
    cluster: catalog
    auth: required
    roles: [admin]
"#;

    fn table() -> RouteTable {
        RouteTable::parse("routes.yaml", ROUTES, std::iter::empty()).unwrap()
    }

    fn doc(path: &str, method: &str, schema: Value) -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": { path: { method: {
                "operationId": "get_thing",
                "responses": { "200": {
                    "description": "The thing",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } }
                } }
            } } },
            "components": { "schemas": { "Thing": schema } },
        })
    }

    fn service(service: &str, doc: Value) -> ServiceDoc {
        ServiceDoc {
            service: service.into(),
            doc,
        }
    }

    #[test]
    fn operations_are_kept_tagged_and_named_after_their_service() {
        let merged = merge(
            "1",
            &table(),
            &[
                service(
                    "auth",
                    doc("/api/auth/login", "post", json!({"type": "string"})),
                ),
                service(
                    "catalog",
                    doc("/api/products/{id}", "get", json!({"type": "string"})),
                ),
            ],
        );
        let login = &merged["paths"]["/api/auth/login"]["post"];
        assert_eq!(login["operationId"], "auth_get_thing");
        assert_eq!(login["tags"], json!(["auth"]));
        let product = &merged["paths"]["/api/products/{id}"]["get"];
        assert_eq!(product["operationId"], "catalog_get_thing");
        assert_eq!(
            merged["components"]["schemas"]["Thing"],
            json!({"type": "string"}),
            "identical schemas are shared"
        );
        assert!(merged["components"]["schemas"]["catalog.Thing"].is_null());
    }

    #[test]
    fn an_operation_the_routes_do_not_send_to_its_service_is_left_out() {
        let merged = merge(
            "1",
            &table(),
            &[
                // Routed to tracking, not catalog.
                service(
                    "catalog",
                    doc(
                        "/api/products/{id}/tracking",
                        "get",
                        json!({"type": "string"}),
                    ),
                ),
                // GET is not routed at all (the login route takes POST only, and no prefix
                // covers it).
                service(
                    "auth",
                    doc("/api/auth/login", "get", json!({"type": "string"})),
                ),
            ],
        );
        assert!(merged["paths"].get("/api/products/{id}/tracking").is_none());
        assert!(merged["paths"].get("/api/auth/login").is_none());
    }

    #[test]
    fn clashing_components_are_renamed_with_their_references_transitively() {
        let mut catalog = doc("/api/products", "get", json!({"type": "integer"}));
        catalog["components"]["schemas"]["Wrapper"] = json!({"type": "object", "properties": {"thing": {"$ref": "#/components/schemas/Thing"}}});
        catalog["paths"]["/api/products"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"] = json!("#/components/schemas/Wrapper");
        let mut auth = doc("/api/auth/login", "post", json!({"type": "string"}));
        auth["components"]["schemas"]["Wrapper"] =
            catalog["components"]["schemas"]["Wrapper"].clone();
        auth["components"]["responses"] = json!({"Oops": {"description": "auth's"}});
        catalog["components"]["responses"] = json!({"Oops": {"description": "catalog's"}});
        catalog["paths"]["/api/products"]["get"]["responses"]["404"] =
            json!({"$ref": "#/components/responses/Oops"});

        let merged = merge(
            "1",
            &table(),
            &[service("auth", auth), service("catalog", catalog)],
        );
        let schemas = &merged["components"]["schemas"];
        assert_eq!(schemas["Thing"]["type"], "string");
        assert_eq!(schemas["catalog.Thing"]["type"], "integer");
        // Catalog's Wrapper read the same as auth's until its Thing was renamed.
        assert_eq!(
            schemas["catalog.Wrapper"]["properties"]["thing"]["$ref"],
            "#/components/schemas/catalog.Thing"
        );
        let answers = &merged["paths"]["/api/products"]["get"]["responses"];
        assert_eq!(
            answers["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/catalog.Wrapper"
        );
        assert_eq!(
            answers["404"]["$ref"],
            "#/components/responses/catalog.Oops"
        );
        assert_eq!(
            merged["components"]["responses"]["catalog.Oops"]["description"],
            "catalog's"
        );
    }

    #[test]
    fn placeholders_stand_for_one_segment() {
        assert_eq!(concrete_path("/a/{id}/b/{other_id}"), "/a/x/b/x");
        assert_eq!(concrete_path("/a"), "/a");
    }
}
