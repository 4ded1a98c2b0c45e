//! Prometheus metrics: one process-wide recorder, the HTTP request metrics every service
//! shares, and `/metrics`. Services and crates add their own with the `metrics` macros; they
//! all land in the same registry.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from a cache hit to a slow checkout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the recorded histogram samples are folded into their buckets. The exporter keeps
/// every sample until then (or until `/metrics` is scraped), so without it a process nobody
/// scrapes (a scrape outage, a pod Prometheus has not found yet) grows by eight bytes a request
/// for ever. Five seconds is the exporter's own default for the recorders it installs itself.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The name of the thread that runs the upkeep.
const UPKEEP_THREAD: &str = "metrics-upkeep";

/// Installs the recorder the first time (labelling every series with `service`), starts its
/// upkeep and returns its handle. Later calls return the same handle: a process has one
/// registry.
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
                        keep_up(handle.clone());
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

/// Runs the recorder's upkeep every [`UPKEEP_EVERY`] for as long as the process lives (the
/// recorder is global). A thread of its own rather than a task: the services install the
/// recorder before their runtimes exist, and the gateway has one runtime per worker.
fn keep_up(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name(UPKEEP_THREAD.into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(err) = started {
        // Metrics still work: samples are folded in when `/metrics` is scraped.
        tracing::error!(%err, "metrics upkeep thread not started");
    }
}

/// The standard methods (RFC 9110 §9 and PATCH), the only ones a `method` label names.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The `method` label of a request: a standard method by name, any other as `OTHER`. HTTP lets
/// a client invent methods, and each would otherwise add series to every scrape for as long as
/// the process lives.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
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
    let method = method_label(req.method().as_str());
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
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads of this process with `name`.
    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter(|task| {
                let comm = task.as_ref().unwrap().path().join("comm");
                std::fs::read_to_string(comm).unwrap().trim() == name
            })
            .count()
    }

    #[test]
    fn only_standard_methods_are_named_in_labels() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("get"), "OTHER", "methods are case-sensitive");
        assert_eq!(method_label("BREW"), "OTHER");
        assert_eq!(method_label(""), "OTHER");
    }

    #[test]
    fn installing_starts_one_upkeep_thread_for_the_process() {
        let first = install("metrics-test");
        let second = install("metrics-test");
        metrics::histogram!("upkeep_test_seconds").record(0.002);

        // A new thread names itself once it runs: until then it carries its parent's name.
        let deadline = Instant::now() + Duration::from_secs(5);
        while threads_named(UPKEEP_THREAD) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(threads_named(UPKEEP_THREAD), 1);
        // One registry behind both handles.
        assert!(first.render().contains("upkeep_test_seconds_bucket"));
        assert!(second.render().contains("upkeep_test_seconds_bucket"));
    }
}
