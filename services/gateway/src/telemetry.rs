//! Request ids, W3C trace context, the access log and request metrics.

use crate::proxy::Finished;
use foldhash::HashMap;
use http::{HeaderValue, Method};
use metrics::{Counter, Histogram};
use platform::metrics::method_label;
use platform::request_id::RequestId;
use std::sync::Mutex;

/// The client's `X-Request-Id` if it is a sane token, else a new UUID (the rule every
/// service applies, from `platform`).
pub fn request_id(header: Option<&HeaderValue>) -> HeaderValue {
    header
        .filter(|value| value.to_str().is_ok_and(RequestId::acceptable))
        .cloned()
        .unwrap_or_else(|| owned_value(RequestId::generate().into()))
}

/// The caller's `traceparent` if well formed (W3C Trace Context §3.2), else a new trace, so
/// that every service's log lines for one request share a trace id.
pub fn traceparent(header: Option<&HeaderValue>) -> HeaderValue {
    header
        .filter(|value| value.to_str().is_ok_and(valid_traceparent))
        .cloned()
        .unwrap_or_else(new_traceparent)
}

fn valid_traceparent(value: &str) -> bool {
    let hex = |part: Option<&str>, len: usize| {
        part.is_some_and(|part| {
            part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    };
    let nonzero = |part: Option<&str>| part.is_some_and(|part| part.bytes().any(|b| b != b'0'));
    let mut parts = value.split('-');
    let (version, trace, span, flags) = (parts.next(), parts.next(), parts.next(), parts.next());
    let more = parts.next().is_some();
    hex(version, 2)
        && version != Some("ff")
        && hex(trace, 32)
        && nonzero(trace)
        && hex(span, 16)
        && nonzero(span)
        && hex(flags, 2)
        && (version != Some("00") || !more)
}

fn new_traceparent() -> HeaderValue {
    // Zero ids are invalid; one in 2^64 draws, so mapping it to 1 costs nothing.
    let trace = rand::random::<u128>().max(1);
    let span = rand::random::<u64>().max(1);
    // `00-{trace:032x}-{span:016x}-01`, without the formatting machinery (once per request).
    let mut text = *b"00-________________________________-________________-01";
    hex_into(&trace.to_be_bytes(), &mut text[3..35]);
    hex_into(&span.to_be_bytes(), &mut text[36..52]);
    HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Lower-case hex of `bytes` into `into` (twice as long).
fn hex_into(bytes: &[u8], into: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(into.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
}

/// A header value from text this module built (ASCII, no control characters), without a copy.
fn owned_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Request metric handles by route, method and status: a request looks its handles up rather
/// than building and hashing its labels' strings for the recorder on every request.
#[derive(Default)]
pub struct Meters(Mutex<HashMap<String, RouteMeters>>);

struct RouteMeters {
    duration: Histogram,
    /// By method label (`platform::metrics::method_label`) and status.
    requests: HashMap<(&'static str, u16), Counter>,
}

impl Meters {
    fn record(&self, route: &str, cluster: &str, method: &Method, status: u16, elapsed: f64) {
        let mut routes = match self.0.lock() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        };
        // One lookup for every request but a route's first.
        if let Some(meters) = routes.get_mut(route) {
            meters.record(route, cluster, method, status, elapsed);
            return;
        }
        let mut meters = RouteMeters::new(route, cluster);
        meters.record(route, cluster, method, status, elapsed);
        routes.insert(route.to_owned(), meters);
    }
}

impl RouteMeters {
    fn new(route: &str, cluster: &str) -> Self {
        Self {
            duration: metrics::histogram!(
                "gateway_request_duration_seconds",
                "route" => route.to_owned(),
                "cluster" => cluster.to_owned(),
            ),
            requests: HashMap::default(),
        }
    }

    fn record(&mut self, route: &str, cluster: &str, method: &Method, status: u16, elapsed: f64) {
        self.duration.record(elapsed);
        let method = method_label(method.as_str());
        self.requests
            .entry((method, status))
            .or_insert_with(|| {
                metrics::counter!(
                    "gateway_requests_total",
                    "route" => route.to_owned(),
                    "cluster" => cluster.to_owned(),
                    "method" => method,
                    "status" => status.to_string(),
                )
            })
            .increment(1);
    }
}

/// One JSON access-log line and the request metrics. The query string is left out of the log:
/// it may carry a WebSocket `access_token`.
pub fn record(meters: &Meters, done: &Finished<'_>) {
    let elapsed = done.started.elapsed();
    let route = done.route.or(done.own).unwrap_or("unmatched");
    // A route always goes to the same cluster, so the route names the label set.
    let cluster = done.cluster.unwrap_or("gateway");
    meters.record(
        route,
        cluster,
        done.method,
        done.status,
        elapsed.as_secs_f64(),
    );
    if done.own == Some("metrics") || done.own == Some("health") {
        return;
    }
    tracing::info!(
        target: "access",
        method = %done.method,
        path = done.path,
        status = done.status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        route,
        cluster,
        endpoint = done.endpoint.map(|addr| addr.to_string()),
        upstream_status = done.upstream_status,
        attempts = done.attempts,
        request_id = done.request_id,
        client_ip = %done.client_ip,
        user_id = done.user.map(|user| user.to_string()),
        user_agent = done.user_agent,
        error = done.error,
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_request_ids_are_kept_and_others_replaced() {
        let kept = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(request_id(Some(&kept)), "abc-123_x.y:z");
        let odd = HeaderValue::from_static("<script>");
        assert_ne!(request_id(Some(&odd)), "<script>");
        assert_eq!(request_id(None).len(), 36);
    }

    #[test]
    fn invented_methods_share_one_counter_per_route_and_status() {
        let meters = Meters::default();
        for method in ["GET", "BREW", "SPAM1", "SPAM2"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            meters.record("unmatched", "gateway", &method, 404, 0.001);
        }

        let routes = meters.0.lock().unwrap();
        let mut labels: Vec<_> = routes["unmatched"].requests.keys().copied().collect();
        labels.sort_unstable();
        assert_eq!(labels, [("GET", 404), ("OTHER", 404)]);
    }

    #[test]
    fn traceparents_are_passed_on_when_valid() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(traceparent(Some(&HeaderValue::from_static(valid))), valid);
        let zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        let fresh = traceparent(Some(&HeaderValue::from_static(zero)));
        assert_ne!(fresh, zero);
        assert!(valid_traceparent(fresh.to_str().unwrap()));
        assert!(valid_traceparent(traceparent(None).to_str().unwrap()));
        for invalid in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert!(!valid_traceparent(invalid), "{invalid}");
        }
        // A later version may carry more fields.
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        ));
    }
}
