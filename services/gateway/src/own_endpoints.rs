//! What the gateway answers itself: `/health`, `/health/live`, `/metrics`, `/openapi.json`
//! and `/docs`.

use crate::openapi::{Docs, MergedSpec};
use crate::proxy::Gateway;
use crate::respond::Local;
use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderValue, Method};
use metrics_exporter_prometheus::PrometheusHandle;
use platform::health::Health;
use serde_json::{Value, json};

pub struct OwnEndpoints {
    pub health: Health,
    pub metrics: PrometheusHandle,
    pub spec: MergedSpec,
    pub docs: Docs,
}

impl OwnEndpoints {
    /// The answer if `path` is one of the gateway's own, with its metrics label.
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
            "/health" => ("health", Box::pin(self.health(gateway)).await),
            "/metrics" => ("metrics", self.metrics(gateway)),
            "/openapi.json" => (
                "openapi",
                Local::bytes(
                    200,
                    "application/json",
                    Box::pin(self.spec.get(spec_sources(gateway))).await,
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

    /// The gateway's own checks (Redis) and each cluster's endpoints. The gateway keeps
    /// serving with Redis or a cluster down (in-memory limits; 503 for that cluster's routes),
    /// so it answers 200 with `degraded` rather than taking itself out of rotation.
    async fn health(&self, gateway: &Gateway) -> Local {
        let report = self.health.report().await;
        let mut degraded = report.status != "healthy";
        let mut clusters = serde_json::Map::new();
        for cluster in &gateway.clusters {
            let endpoints = cluster.endpoints();
            let up = endpoints.iter().any(|endpoint| endpoint.serving());
            degraded |= !up;
            clusters.insert(
                cluster.spec.name.clone(),
                json!({
                    "status": if up { "up" } else { "down" },
                    "endpoints": endpoints.iter().map(|endpoint| json!({
                        "address": endpoint.addr.to_string(),
                        "healthy": endpoint.healthy,
                        "ejected": endpoint.ejected,
                    })).collect::<Vec<_>>(),
                }),
            );
        }
        let mut body = serde_json::to_value(&report).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut body {
            map.insert(
                "status".into(),
                json!(if degraded { "degraded" } else { "healthy" }),
            );
            map.insert("clusters".into(), Value::Object(clusters));
            // Not a degradation: without notices every token is checked in Redis.
            let notices = if gateway.revocations.session().is_some() {
                "subscribed"
            } else {
                "unsubscribed"
            };
            map.insert("revocationNotices".into(), json!(notices));
        }
        Local::json(200, &body)
    }

    fn metrics(&self, gateway: &Gateway) -> Local {
        for cluster in &gateway.clusters {
            for endpoint in cluster.endpoints() {
                metrics::gauge!(
                    "gateway_upstream_healthy",
                    "cluster" => cluster.spec.name.clone(),
                    "endpoint" => endpoint.addr.to_string(),
                )
                .set(if endpoint.serving() { 1.0 } else { 0.0 });
            }
        }
        Local::bytes(
            200,
            "text/plain; version=0.0.4",
            Bytes::from(self.metrics.render()),
        )
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
