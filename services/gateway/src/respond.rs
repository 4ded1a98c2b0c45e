//! Answers the gateway writes itself (its own endpoints and refusals), with the same headers a
//! proxied answer gets.

use crate::body::ResponseBody;
use bytes::Bytes;
use domain::Problem;
use domain::problem::PROBLEM_JSON;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// A response built by the gateway.
pub struct Local {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Local {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::bytes(status, "application/json", Bytes::from(body.to_string()))
    }

    pub fn bytes(status: u16, content_type: &'static str, body: Bytes) -> Self {
        Self {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    pub fn problem(problem: &Problem) -> Self {
        let body = serde_json::to_vec(problem).unwrap_or_default();
        let mut local = Self::bytes(problem.status(), PROBLEM_JSON, Bytes::from(body));
        if let Some(seconds) = problem.retry_after() {
            local = local.with_header(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = problem.www_authenticate() {
            local = local.with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        local
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The response, before the shared decoration (request id, CORS, rate limits). Its length
    /// comes from the body; a `HEAD` request gets the headers only.
    pub fn into_response(self) -> Response<ResponseBody> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Response::new(ResponseBody::local(self.body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if status != StatusCode::NO_CONTENT {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body;

    #[test]
    fn problems_carry_their_retry_hint_and_content_type() {
        let response = Local::problem(&Problem::rate_limited(42)).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[RETRY_AFTER], "42");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert!(
            response
                .body()
                .size_hint()
                .exact()
                .is_some_and(|len| len > 0)
        );
    }

    #[test]
    fn no_content_answers_have_no_content_type() {
        let response = Local::bytes(204, "text/plain", Bytes::new()).into_response();
        assert!(!response.headers().contains_key(CONTENT_TYPE));
        assert!(response.body().is_end_stream());
    }
}
