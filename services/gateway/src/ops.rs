//! The operations listener (`GATEWAY_OPS_PORT`, 9080 by default): `/metrics`, the detailed
//! `/health` and `/health/live`, for Prometheus and the Kubernetes probes. It is a port of its
//! own so that nothing in front of the public port (the Ingress targets the Service, which
//! exposes the public port alone) can reach it: the report names clusters and internal
//! addresses, and answering it asks Redis. Requests here are neither routed, limited nor
//! logged.

use crate::body::ResponseBody;
use crate::proxy::Gateway;
use crate::respond::Local;
use async_trait::async_trait;
use bytes::Bytes;
use domain::{Code, Problem};
use futures_util::FutureExt;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use platform::health::Health;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What the operations port answers with.
pub struct Ops {
    pub health: Health,
    pub metrics: PrometheusHandle,
}

/// How long a scraper or probe may take to send a request's head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

impl Ops {
    /// The answer to a request on the operations port.
    pub async fn answer(&self, gateway: &Gateway, method: &Method, path: &str) -> Local {
        if method != Method::GET && method != Method::HEAD {
            return Local::problem(
                &Problem::new(Code::MethodNotAllowed)
                    .with_detail(format!("{method} is not allowed on {path}.")),
            );
        }
        match path {
            "/health/live" => Local::json(200, &json!({ "status": "alive" })),
            "/health" => self.health(gateway).await,
            "/metrics" => self.metrics(gateway),
            _ => Local::problem(&Problem::new(Code::RouteNotFound).with_detail(format!(
                "The operations port serves /metrics, /health and /health/live, not {path}."
            ))),
        }
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

/// The operations listener, run by Pingora as a background service until shutdown. It keeps
/// answering while the public connections drain, so probes and the last scrape still work.
pub struct OpsServer {
    pub gateway: Arc<Gateway>,
    pub listener: std::net::TcpListener,
}

#[async_trait]
impl BackgroundService for OpsServer {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let listener = match self.listener.try_clone().and_then(TcpListener::from_std) {
            Ok(listener) => listener,
            Err(error) => {
                // Start-up, in effect: a gateway without probes or metrics must not run.
                tracing::error!(%error, "the operations port cannot listen; exiting");
                std::process::exit(1);
            }
        };
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let gateway = Arc::clone(&self.gateway);
                        tokio::spawn(serve(gateway, stream));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "accepting an operations connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => return,
            }
        }
    }
}

async fn serve(gateway: Arc<Gateway>, stream: tokio::net::TcpStream) {
    let service = service_fn(move |request: Request<Incoming>| {
        let gateway = Arc::clone(&gateway);
        async move {
            let answer = gateway
                .ops
                .answer(&gateway, request.method(), request.uri().path())
                .await;
            answer.into_response()
        }
        .map(Ok::<Response<ResponseBody>, Infallible>)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!(%error, "operations connection ended with an error");
    }
}
