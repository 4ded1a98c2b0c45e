//! [`TestClient`]: one HTTP client for every service's tests, and [`assert_problem!`], which
//! checks an error answer (status, `application/problem+json`, `code`) and snapshots its body
//! with insta, with what changes between runs (ids, times, provider ids) redacted.
//!
//! ```ignore
//! let client = TestClient::new(&app.base).with_token(&token);
//! let response = client.post("/api/payments/methods", &json!({"type": "bitcoin"})).await;
//! let problem = testkit::assert_problem!(response, 400, "VALIDATION_FAILED");
//! assert_eq!(problem["errors"][0]["field"], "type");
//! ```
//!
//! The snapshot lands beside the calling test (`tests/it/snapshots/`), named after the test
//! function (a second call in one test gets `-2`, ...); `cargo insta review` accepts them.

use regex::Regex;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::LazyLock;

/// A client for one service (or the gateway) at `base`, optionally signed in.
#[derive(Clone, Debug)]
pub struct TestClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    /// The body as JSON, `Null` when it is empty or not JSON.
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestClient {
    /// A client of the service at `base` (`http://127.0.0.1:<port>`).
    #[must_use]
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    #[must_use]
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// Sends a request (`body` as JSON) and reads the answer.
    #[expect(clippy::expect_used, reason = "test helper: fail the test loudly")]
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send the request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the answer");
        TestResponse {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(Method::DELETE, path, None).await
    }
}

/// Checks that `response` is the problem `status`/`code` (content type, `status` and `code`
/// members) and answers its body with volatile values redacted ([`redact`]). Use
/// [`assert_problem!`], which also snapshots it.
///
/// # Panics
/// When the answer is not that problem.
#[must_use]
pub fn problem_body(response: &TestResponse, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status, status,
        "expected {status} {code}, got {}: {}",
        response.status, response.text
    );
    assert_eq!(
        response.header("content-type"),
        Some(domain::problem::PROBLEM_JSON),
        "{}",
        response.text
    );
    let body = response.json();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    redact(body)
}

static VOLATILE: LazyLock<[(Regex, &'static str); 3]> = LazyLock::new(|| {
    let pattern = |text: &str| Regex::new(text).unwrap_or_else(|_| unreachable!());
    [
        (
            pattern(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
            "[uuid]",
        ),
        (
            pattern(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"),
            "[time]",
        ),
        // The sandbox's provider ids (`pm_sbx…`, `pi_sbx…`).
        (pattern(r"\b([a-z]+)_sbx[0-9a-f]+"), "${1}_[id]"),
    ]
});

/// Replaces what changes from run to run in every string of `value`: UUIDs, RFC 3339
/// times, sandbox provider ids.
#[must_use]
pub fn redact(value: Value) -> Value {
    match value {
        Value::String(text) => {
            let mut text = text;
            for (pattern, replacement) in VOLATILE.iter() {
                text = pattern.replace_all(&text, *replacement).into_owned();
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, redact(v))).collect()),
        other => other,
    }
}

/// `assert_problem!(response, 404, "NOT_FOUND")`: checks the problem (see [`problem_body`]),
/// snapshots its redacted body with insta beside the calling test, and answers the body.
/// `assert_problem!(response, 404, "NOT_FOUND", "name")` names the snapshot.
#[macro_export]
macro_rules! assert_problem {
    ($response:expr, $status:expr, $code:expr) => {{
        let body = $crate::client::problem_body(&$response, $status, $code);
        $crate::insta::assert_json_snapshot!(body);
        body
    }};
    ($response:expr, $status:expr, $code:expr, $name:expr) => {{
        let body = $crate::client::problem_body(&$response, $status, $code);
        $crate::insta::assert_json_snapshot!($name, body);
        body
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_values_are_redacted_everywhere() {
        let body = serde_json::json!({
            "detail": "No such PaymentMethod: 'pm_sbxab12' for 01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f",
            "errors": [{"field": "at", "message": "after 2026-11-24T23:00:00.123Z"}],
            "status": 422,
        });
        assert_eq!(
            redact(body),
            serde_json::json!({
                "detail": "No such PaymentMethod: 'pm_[id]' for [uuid]",
                "errors": [{"field": "at", "message": "after [time]"}],
                "status": 422,
            })
        );
    }
}
