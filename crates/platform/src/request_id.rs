//! The request id: taken from `X-Request-Id` when the gateway (or a caller) set a sane one,
//! generated otherwise, kept in the request's extensions and echoed on the response, so one
//! id follows a request through the gateway, the service and its log lines.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{Ready, ready};

/// The header carrying the id between processes.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

thread_local! {
    static CONTEXT_V7: uuid::ContextV7 = const { uuid::ContextV7::new() };
}

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Accepts a caller's id only if it is a short token (letters, digits, `-_.:`), so a
    /// client cannot inject log lines, markup or huge values; otherwise a fresh UUIDv7 is used.
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        Self::from_text(value.and_then(|v| v.to_str().ok()))
    }

    /// [`RequestId::from_header`] for a header already read as text (the gateway, whose
    /// header types are not actix's).
    pub fn from_text(value: Option<&str>) -> Self {
        value
            .filter(|v| Self::acceptable(v))
            .map_or_else(Self::generate, |v| Self(v.to_owned()))
    }

    /// Whether a caller's id is kept: a short token of letters, digits and `-_.:`.
    pub fn acceptable(value: &str) -> bool {
        (1..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    }

    /// A new id.
    pub fn generate() -> Self {
        // A context per thread rather than `now_v7`'s one behind a process-wide lock, which the
        // gateway's workers took in turn on every request: ids stay time-ordered per thread and
        // unique by their random bits. Encoded straight into its buffer.
        let id = CONTEXT_V7.with(|context| uuid::Uuid::new_v7(uuid::Timestamp::now(context)));
        let mut text = uuid::Uuid::encode_buffer();
        Self(id.hyphenated().encode_lower(&mut text).to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> Self {
        id.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Middleware: must wrap outside the tracing logger so the root span can read the id.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = RequestId::from_header(req.headers().get(HEADER));
    req.extensions_mut().insert(id.clone());
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        res.headers_mut().insert(HEADER, value);
    }
    Ok(res)
}

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req.extensions().get::<RequestId>().cloned();
        ready(Ok(id.unwrap_or_else(RequestId::generate)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_id_is_kept() {
        let value = HeaderValue::from_static("gw-0192-abc");
        assert_eq!(RequestId::from_header(Some(&value)).as_str(), "gw-0192-abc");
    }

    #[test]
    fn missing_empty_or_hostile_ids_are_replaced() {
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        let spaced = HeaderValue::from_static("a b");
        let empty = HeaderValue::from_static("");
        for value in [None, Some(&long), Some(&spaced), Some(&empty)] {
            let id = RequestId::from_header(value);
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{id}");
        }
    }
}
