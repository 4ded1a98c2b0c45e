//! Request ids, W3C trace context, the access log and request metrics.

use crate::proxy::Finished;
use http::HeaderValue;

/// The client's `X-Request-Id` if it is a sane token, else a new UUID (the rule every
/// service applies, from `platform`).
pub fn request_id(header: Option<&HeaderValue>) -> String {
    let text = header.and_then(|value| value.to_str().ok());
    platform::request_id::RequestId::from_text(text).to_string()
}

/// The caller's `traceparent` if well formed (W3C Trace Context §3.2), else a new trace, so
/// that every service's log lines for one request share a trace id.
pub fn traceparent(header: Option<&HeaderValue>) -> String {
    header
        .and_then(|value| value.to_str().ok())
        .filter(|value| valid_traceparent(value))
        .map_or_else(new_traceparent, str::to_owned)
}

fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
    parts.len() >= 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && nonzero(parts[1])
        && hex(parts[2], 16)
        && nonzero(parts[2])
        && hex(parts[3], 2)
        && (parts[0] != "00" || parts.len() == 4)
}

fn new_traceparent() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{span}-01")
}

/// One JSON access-log line and the request metrics. The query string is left out of the log:
/// it may carry a WebSocket `access_token`.
pub fn record(done: &Finished<'_>) {
    let elapsed = done.started.elapsed();
    let route = done.route.or(done.own).unwrap_or("unmatched");
    let cluster = done.cluster.unwrap_or("gateway");
    metrics::counter!(
        "gateway_requests_total",
        "route" => route.to_owned(),
        "cluster" => cluster.to_owned(),
        "method" => done.method.as_str().to_owned(),
        "status" => done.status.to_string(),
    )
    .increment(1);
    metrics::histogram!(
        "gateway_request_duration_seconds",
        "route" => route.to_owned(),
        "cluster" => cluster.to_owned(),
    )
    .record(elapsed.as_secs_f64());
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
    fn traceparents_are_passed_on_when_valid() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(traceparent(Some(&HeaderValue::from_static(valid))), valid);
        let zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        let fresh = traceparent(Some(&HeaderValue::from_static(zero)));
        assert_ne!(fresh, zero);
        assert!(valid_traceparent(&fresh));
        assert!(valid_traceparent(&traceparent(None)));
        assert!(!valid_traceparent(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
        ));
    }
}
