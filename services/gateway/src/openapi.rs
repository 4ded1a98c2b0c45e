//! `/openapi.json`: every running service's OpenAPI document merged into one, and `/docs`:
//! Swagger UI over it, its assets embedded in the binary (nothing fetched from the internet).

use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use utoipa_swagger_ui::Config;

/// How long one service may take to hand over its document.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// A service's document, fetched from one of its endpoints.
pub struct ServiceDoc {
    pub service: String,
    pub doc: Value,
}

/// Merges service documents: paths side by side (each path belongs to one service), tags
/// kept, operations without a tag tagged with their service, and component schemas shared
/// when identical but renamed `<service>.<Name>` (references rewritten) when two services
/// mean different things by one name.
pub fn merge(version: &str, docs: &[ServiceDoc]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut security_schemes = Map::new();
    let mut tags: Vec<Value> = Vec::new();
    for ServiceDoc { service, doc } in docs {
        let mut doc = doc.clone();
        // Names this service means differently from a service merged before it: renamed
        // throughout its document (the schemas themselves included) before merging.
        let clashing: Vec<String> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(name, schema)| schemas.get(*name).is_some_and(|known| known != *schema))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &clashing {
            rename_refs(&mut doc, name, &format!("{service}.{name}"));
        }
        if let Some(Value::Object(own)) = doc.pointer_mut("/components/schemas") {
            for (name, schema) in std::mem::take(own) {
                let key = if clashing.contains(&name) {
                    format!("{service}.{name}")
                } else {
                    name
                };
                schemas.entry(key).or_insert(schema);
            }
        }
        if let Some(schemes) = doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        {
            for (name, scheme) in schemes {
                security_schemes
                    .entry(name.clone())
                    .or_insert_with(|| scheme.clone());
            }
        }
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
        if let Some(Value::Object(service_paths)) = doc.get_mut("paths") {
            for (path, item) in std::mem::take(service_paths) {
                let mut item = item;
                tag_untagged(&mut item, service);
                paths.entry(path).or_insert(item);
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Faded Skies API",
            "description": "Every service behind the gateway. Send `Authorization: Bearer <access token>` from `/api/auth/login`.",
            "version": version,
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths,
        "components": { "schemas": schemas, "securitySchemes": security_schemes },
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn tag_untagged(item: &mut Value, service: &str) {
    for method in METHODS {
        if let Some(Value::Object(operation)) = item.get_mut(method) {
            let untagged = operation
                .get("tags")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if untagged {
                operation.insert("tags".into(), json!([service]));
            }
        }
    }
}

fn rename_refs(value: &mut Value, from: &str, to: &str) {
    let old = format!("#/components/schemas/{from}");
    let new = format!("#/components/schemas/{to}");
    rewrite(value, &old, &new);
}

fn rewrite(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "$ref" && inner.as_str() == Some(old) {
                    *inner = Value::String(new.to_owned());
                } else {
                    rewrite(inner, old, new);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|inner| rewrite(inner, old, new)),
        _ => {}
    }
}

/// Fetches and merges the documents, reusing the merged one for `ttl`.
pub struct MergedSpec {
    client: reqwest::Client,
    version: String,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl MergedSpec {
    pub fn new(version: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .unwrap_or_default(),
            version: version.into(),
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The merged document; `sources` are (service, URL) pairs of the services that have an
    /// endpoint serving. A service that does not answer is left out until the next refresh.
    pub async fn get(&self, sources: Vec<(String, String)>) -> Bytes {
        let mut cached = self.cached.lock().await;
        if let Some((at, body)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return body.clone();
        }
        let fetches = sources.into_iter().map(|(service, url)| {
            let client = self.client.clone();
            async move {
                let answer = client
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                match answer {
                    Ok(response) => match response.json::<Value>().await {
                        Ok(doc) => Some(ServiceDoc { service, doc }),
                        Err(err) => {
                            tracing::warn!(%service, error = %err, "OpenAPI document unreadable");
                            None
                        }
                    },
                    Err(err) => {
                        tracing::warn!(%service, error = %err, "OpenAPI document unavailable");
                        None
                    }
                }
            }
        });
        let docs: Vec<ServiceDoc> = futures_util::future::join_all(fetches)
            .await
            .into_iter()
            .flatten()
            .collect();
        let body = Bytes::from(merge(&self.version, &docs).to_string());
        *cached = Some((Instant::now(), body.clone()));
        body
    }
}

/// A Swagger UI file: `/docs` (the page) and `/docs/<asset>`.
pub struct DocsFile {
    pub bytes: Bytes,
    pub content_type: String,
}

pub struct Docs {
    config: Arc<Config<'static>>,
}

impl Default for Docs {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::from("/openapi.json")),
        }
    }
}

impl Docs {
    /// `tail` is what follows `/docs/` (empty for the page itself).
    pub fn file(&self, tail: &str) -> Option<DocsFile> {
        let tail = if tail.is_empty() { "index.html" } else { tail };
        match utoipa_swagger_ui::serve(tail, Arc::clone(&self.config)) {
            Ok(Some(file)) => Some(DocsFile {
                bytes: Bytes::from(file.bytes.into_owned()),
                content_type: file.content_type,
            }),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(error = %err, "Swagger UI asset unreadable");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, schema: Value) -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": { path: { "get": { "responses": { "200": {
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } }
            } } } } },
            "components": { "schemas": { "Thing": schema, "ProblemBody": { "type": "object" } } },
        })
    }

    #[test]
    fn paths_from_every_service_are_kept_and_tagged() {
        let merged = merge(
            "1",
            &[
                ServiceDoc {
                    service: "auth".into(),
                    doc: doc("/api/auth/login", json!({"type": "string"})),
                },
                ServiceDoc {
                    service: "catalog".into(),
                    doc: doc("/api/products", json!({"type": "string"})),
                },
            ],
        );
        assert!(merged.pointer("/paths/~1api~1auth~1login/get").is_some());
        assert_eq!(
            merged.pointer("/paths/~1api~1products/get/tags/0"),
            Some(&json!("catalog"))
        );
        let schemas = merged
            .pointer("/components/schemas")
            .unwrap()
            .as_object()
            .unwrap();
        assert_eq!(
            schemas.len(),
            2,
            "identical schemas are shared: {schemas:?}"
        );
    }

    #[test]
    fn clashing_schemas_are_renamed_with_their_references() {
        let merged = merge(
            "1",
            &[
                ServiceDoc {
                    service: "auth".into(),
                    doc: doc("/a", json!({"type": "string"})),
                },
                ServiceDoc {
                    service: "catalog".into(),
                    doc: doc("/b", json!({"type": "integer"})),
                },
            ],
        );
        assert_eq!(
            merged.pointer("/components/schemas/Thing/type"),
            Some(&json!("string"))
        );
        assert_eq!(
            merged.pointer("/components/schemas/catalog.Thing/type"),
            Some(&json!("integer"))
        );
        assert_eq!(
            merged.pointer("/paths/~1b/get/responses/200/content/application~1json/schema/$ref"),
            Some(&json!("#/components/schemas/catalog.Thing"))
        );
    }

    #[test]
    fn the_docs_page_and_its_assets_are_embedded() {
        let docs = Docs::default();
        let page = docs.file("").unwrap();
        assert!(page.content_type.starts_with("text/html"));
        let initializer = docs.file("swagger-initializer.js").unwrap();
        assert!(String::from_utf8_lossy(&initializer.bytes).contains("/openapi.json"));
        assert!(docs.file("swagger-ui-bundle.js").is_some());
        assert!(docs.file("nope.js").is_none());
    }
}
