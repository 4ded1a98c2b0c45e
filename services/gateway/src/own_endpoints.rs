//! What the gateway answers itself on its public port: `/health` (up or down, nothing more),
//! `/health/live`, `/openapi.json` and `/docs`. Metrics and the detailed health report are on
//! the operations port only (`ops`).

use crate::openapi::{Docs, MergedSpec};
use crate::proxy::Gateway;
use crate::respond::Local;
use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderValue, Method};
use serde_json::json;

pub struct OwnEndpoints {
    pub spec: MergedSpec,
    pub docs: Docs,
}

impl OwnEndpoints {
    /// The answer if `path` (normalised) is one of the gateway's own, with its metrics label.
    pub async fn answer(
        &self,
        gateway: &Gateway,
        method: &Method,
        path: &str,
    ) -> Option<(&'static str, Local)> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        // The answers that wait are boxed: every proxied request's future passes through here,
        // and would otherwise be as large (and as costly to move) as theirs.
        let answer = match path {
            "/health/live" => ("health", Local::json(200, &json!({ "status": "alive" }))),
            "/health" => ("health", public_health(gateway)),
            "/openapi.json" => (
                "openapi",
                Local::bytes(
                    200,
                    "application/json",
                    Box::pin(self.spec.get(&gateway.table, spec_sources(gateway))).await,
                ),
            ),
            "/docs" => (
                "docs",
                Local::bytes(301, "text/plain", Bytes::new())
                    .with_header(LOCATION, HeaderValue::from_static("/docs/")),
            ),
            _ => {
                let tail = path.strip_prefix("/docs/")?;
                let file = self.docs.file(tail)?;
                let content_type = static_content_type(&file.content_type);
                ("docs", Local::bytes(200, content_type, file.bytes))
            }
        };
        Some(answer)
    }
}

/// Up or down, and nothing else: the detailed report names clusters and internal addresses,
/// and asks Redis, so it is for the operations port. Up while some cluster has an endpoint
/// serving (from memory, no I/O: anyone may ask, as often as they like).
fn public_health(gateway: &Gateway) -> Local {
    let up = gateway.clusters.is_empty()
        || gateway.clusters.iter().any(|cluster| {
            cluster
                .endpoints()
                .iter()
                .any(crate::cluster::EndpointState::serving)
        });
    if up {
        Local::json(200, &json!({ "status": "up" }))
    } else {
        Local::json(503, &json!({ "status": "down" }))
    }
}

/// (service, URL) of each cluster with an OpenAPI document and an endpoint serving.
fn spec_sources(gateway: &Gateway) -> Vec<(String, String)> {
    gateway
        .clusters
        .iter()
        .filter_map(|cluster| {
            let path = cluster.spec.openapi.as_ref()?;
            let endpoint = cluster
                .endpoints()
                .into_iter()
                .find(|endpoint| endpoint.serving())?;
            Some((
                cluster.spec.name.clone(),
                format!("http://{}{path}", endpoint.addr),
            ))
        })
        .collect()
}

/// Swagger UI's content types, as the static strings a response header takes.
fn static_content_type(content_type: &str) -> &'static str {
    match content_type.split(';').next().unwrap_or_default() {
        "text/html" => "text/html; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "application/javascript" | "text/javascript" => "text/javascript; charset=utf-8",
        "image/png" => "image/png",
        "application/json" => "application/json",
        _ => "application/octet-stream",
    }
}
