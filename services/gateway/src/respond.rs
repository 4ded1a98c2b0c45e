//! Answers the gateway writes itself (its own endpoints and refusals), with the same headers a
//! proxied answer gets.

use bytes::Bytes;
use domain::Problem;
use domain::problem::PROBLEM_JSON;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

/// A response built by the gateway.
pub struct Local {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
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
            local.headers.push(("retry-after", seconds.to_string()));
        }
        if let Some(challenge) = problem.www_authenticate() {
            local
                .headers
                .push(("www-authenticate", challenge.to_owned()));
        }
        local
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The response header, before the shared decoration (request id, CORS, rate limits).
    pub fn header(&self) -> pingora::Result<ResponseHeader> {
        let mut header = ResponseHeader::build(self.status, Some(4 + self.headers.len()))?;
        if !self.body.is_empty() || self.status != 204 {
            header.insert_header("content-type", self.content_type)?;
        }
        header.insert_header("content-length", self.body.len().to_string())?;
        header.insert_header("cache-control", "no-store")?;
        for (name, value) in &self.headers {
            header.insert_header(*name, value.as_str())?;
        }
        Ok(header)
    }
}

/// Writes `header` and `body` to the client.
pub async fn write(
    session: &mut Session,
    header: ResponseHeader,
    body: Bytes,
) -> pingora::Result<()> {
    let head_only = session.req_header().method == http::Method::HEAD;
    let empty = body.is_empty() || head_only;
    session
        .write_response_header(Box::new(header), empty)
        .await?;
    if !empty {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}
