//! Prometheus metrics: one process-wide recorder, the HTTP request metrics every service
//! shares, and `/metrics`. Services and crates add their own with the `metrics` macros; they
//! all land in the same registry.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from a cache hit to a slow checkout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder the first time (labelling every series with `service`) and returns
/// its handle. Later calls return the same handle: a process has one registry.
pub fn install(service: &str) -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .add_global_label("service", service)
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS);
            match builder {
                Ok(builder) => match builder.install_recorder() {
                    Ok(handle) => {
                        describe();
                        handle
                    }
                    // Another recorder was installed by hand: keep serving an empty registry
                    // rather than refusing to start.
                    Err(err) => {
                        tracing::error!(%err, "metrics recorder already installed");
                        PrometheusBuilder::new().build_recorder().handle()
                    }
                },
                Err(err) => {
                    tracing::error!(%err, "invalid metrics buckets");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route template and status."
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method and route template."
    );
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// Middleware recording `http_requests_total` and `http_request_duration_seconds`. Routes are
/// labelled by their template (`/api/orders/{id}`), never the raw path, so a client cannot
/// blow up the number of series.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let result = next.call(req).await;
    let (route, status) = match &result {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
            res.status().as_u16(),
        ),
        Err(err) => (
            "unmatched".into(),
            err.as_response_error().status_code().as_u16(),
        ),
    };
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    result
}
