//! [`Problem`]: the one error type every handler returns, answered as RFC 9457
//! `application/problem+json`.
//!
//! Which error belongs where: rules and queries return their own `thiserror` enums or
//! `diesel::result::Error`; handlers turn those into a `Problem` with `?` (through a `From`
//! impl) or by picking a [`Code`]. A `Problem` is the only error a client ever sees: a 5xx is
//! logged with its cause where it is made and answered without it.

mod code;
mod extract;

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use code::{Code, TYPE_URI_PREFIX};
pub use extract::{json_config, method_not_allowed, path_config, query_config, route_not_found};

use crate::input::{FieldError, ParseError};

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Members a problem body defines itself; extensions cannot overwrite them.
const RESERVED_MEMBERS: [&str; 9] = [
    "type", "title", "status", "detail", "code", "errors", "instance", "error", "message",
];

/// The detail of every 500: the cause is in the log, not in the answer.
const INTERNAL_DETAIL: &str =
    "Something went wrong on our side. It has been logged; please try again later.";

/// An error answer: a stable [`Code`] (which fixes status, title and type URI), an optional
/// human `detail` for this occurrence, field `errors` for invalid input, extension members and
/// an optional `Retry-After`.
///
/// Serialized as `{type, title, status, detail?, code, errors?, error, message,
/// ...extensions}`; extension keys should be camelCase like the rest of the API. `error` (the
/// title) and `message` (the detail, else the title) are the guide's members, which its
/// clients display; RFC 9457 lets a problem carry members of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    code: Code,
    detail: Option<String>,
    errors: Vec<FieldError>,
    extensions: Map<String, Value>,
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem with only its code.
    #[must_use]
    pub fn new(code: Code) -> Self {
        Self {
            code,
            detail: None,
            errors: Vec::new(),
            extensions: Map::new(),
            retry_after: None,
        }
    }

    /// Adds a human explanation of this occurrence. Never put internal causes here.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds field errors (`errors` is left out of the body while empty).
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors.extend(errors);
        self
    }

    /// Adds an extension member, e.g. `("limitGrams", 28.5)`. Keys of standard members
    /// (`type`, `status`, ...) are ignored when serializing, so an extension cannot change
    /// the code a client branches on.
    #[must_use]
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// Sends `Retry-After: <seconds>` with the answer (429, 503).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// `400 VALIDATION_FAILED` with the given field errors.
    #[must_use]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "One field is invalid.".to_owned(),
            n => format!("{n} fields are invalid."),
        };
        Self::new(Code::ValidationFailed)
            .with_detail(detail)
            .with_errors(errors)
    }

    /// `400 BAD_REQUEST` with a detail.
    #[must_use]
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(Code::BadRequest).with_detail(detail)
    }

    /// `404 NOT_FOUND`, also for resources that exist but are not the caller's (so that ids
    /// of other people's orders cannot be probed).
    #[must_use]
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Code::NotFound).with_detail(detail)
    }

    /// `401 UNAUTHENTICATED`: no credentials were sent.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated)
            .with_detail("Send an access token as `Authorization: Bearer <token>`.")
    }

    /// `403 FORBIDDEN`: the caller is known but may not do this.
    #[must_use]
    pub fn forbidden() -> Self {
        Self::new(Code::Forbidden).with_detail("Your account is not allowed to do this.")
    }

    /// `409 CONFLICT` with a detail.
    #[must_use]
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(Code::Conflict).with_detail(detail)
    }

    /// `429 RATE_LIMITED` with `Retry-After`.
    #[must_use]
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self::new(Code::RateLimited)
            .with_detail("Too many requests; slow down and retry later.")
            .with_retry_after(retry_after_seconds)
    }

    /// `500 INTERNAL`: logs `cause` at error level and answers a generic detail, so that
    /// nothing internal (SQL, paths, provider messages) reaches a client.
    #[must_use]
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "answering 500 INTERNAL");
        Self::new(Code::Internal).with_detail(INTERNAL_DETAIL)
    }

    /// `503 SERVICE_UNAVAILABLE`: a dependency (pool, broker, provider) is down. Logs `cause`
    /// and answers without it.
    #[must_use]
    pub fn unavailable(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "answering 503 SERVICE_UNAVAILABLE");
        Self::new(Code::ServiceUnavailable)
            .with_detail("A service we depend on is unavailable; please try again shortly.")
    }

    /// The code.
    #[must_use]
    pub const fn code(&self) -> Code {
        self.code
    }

    /// The HTTP status, from the code.
    #[must_use]
    pub const fn status(&self) -> u16 {
        self.code.status()
    }

    /// What a person is shown (the guide's `message`): the detail, else the title.
    #[must_use]
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or_else(|| self.code.title())
    }

    /// The detail, if any.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The field errors.
    #[must_use]
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The extension members.
    #[must_use]
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }

    /// The `WWW-Authenticate` challenge the answer carries, if any. RFC 9110 §15.5.2: a 401
    /// must say how to authenticate; RFC 6750 §3.1 names the error when a token was sent but
    /// is no good.
    #[must_use]
    pub const fn www_authenticate(&self) -> Option<&'static str> {
        match self.code {
            Code::InvalidToken | Code::TokenExpired => Some(r#"Bearer error="invalid_token""#),
            Code::Unauthenticated | Code::InvalidCredentials => Some("Bearer"),
            _ => None,
        }
    }

    /// The `Retry-After` seconds, if set.
    #[must_use]
    pub const fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.code.type_uri())?;
        map.serialize_entry("title", self.code.title())?;
        map.serialize_entry("status", &self.code.status())?;
        if let Some(detail) = &self.detail {
            map.serialize_entry("detail", detail)?;
        }
        map.serialize_entry("code", self.code.as_str())?;
        if !self.errors.is_empty() {
            map.serialize_entry("errors", &self.errors)?;
        }
        map.serialize_entry("error", self.code.title())?;
        map.serialize_entry("message", self.message())?;
        for (key, value) in &self.extensions {
            if !RESERVED_MEMBERS.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for error in &self.errors {
            write!(f, " [{}: {}]", error.field, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = self.www_authenticate() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        match serde_json::to_vec(self) {
            Ok(body) => response.body(body),
            // Unreachable with string keys and JSON values, but an error path must not fail.
            Err(_) => response.body(format!(
                r#"{{"status":{},"code":"{}"}}"#,
                self.status(),
                self.code
            )),
        }
    }
}

impl From<ParseError> for Problem {
    fn from(error: ParseError) -> Self {
        Self::validation(error.into_field_errors())
    }
}

impl From<Vec<FieldError>> for Problem {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::validation(errors)
    }
}

impl From<diesel::result::Error> for Problem {
    /// `NotFound` is a 404; constraint violations are conflicts caused by the request (never a
    /// 500 for something a client sent); a lost or read-only connection and serialization
    /// failures are transient (503, retry); everything else is our bug (500).
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};

        match &error {
            Error::NotFound => Self::not_found("The requested resource does not exist."),
            Error::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or_default();
                match kind {
                    Kind::UniqueViolation => {
                        tracing::info!(constraint, "unique violation answered with 409");
                        Self::conflict("A resource with the same unique value already exists.")
                    }
                    Kind::ForeignKeyViolation | Kind::RestrictViolation => {
                        tracing::info!(constraint, "foreign key violation answered with 409");
                        Self::conflict(
                            "The request refers to a resource that does not exist or is still in use.",
                        )
                    }
                    Kind::CheckViolation | Kind::ExclusionViolation => {
                        tracing::info!(constraint, "check violation answered with 409");
                        Self::conflict(
                            "The request conflicts with the current state of the resource.",
                        )
                    }
                    Kind::SerializationFailure => Self::unavailable(&error).with_retry_after(1),
                    Kind::ClosedConnection
                    | Kind::UnableToSendCommand
                    | Kind::ReadOnlyTransaction => Self::unavailable(&error),
                    _ => Self::internal(&error),
                }
            }
            _ => Self::internal(&error),
        }
    }
}

/// The shape of a problem body, for OpenAPI (`ProblemBody` in `components.schemas`) and for
/// tests and clients that read problems back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "https://docs.fadedskies.com/problems/validation-failed",
    "title": "Invalid request",
    "status": 400,
    "detail": "One field is invalid.",
    "code": "VALIDATION_FAILED",
    "errors": [{"field": "email", "message": "must contain exactly one `@`"}],
    "error": "Invalid request",
    "message": "One field is invalid."
}))]
pub struct ProblemBody {
    /// URI identifying the problem type: the documentation page of `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary, fixed per code.
    pub title: String,
    /// The HTTP status, repeated for clients that only see the body.
    pub status: u16,
    /// Explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable error code.
    pub code: Code,
    /// Invalid fields, present for invalid input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The title again, under the guide's name (its clients show `error`).
    pub error: String,
    /// The detail, else the title, under the guide's name (its clients show `message`).
    pub message: String,
    /// Code-specific members, e.g. `currentStatus` for `INVALID_STATE_TRANSITION`.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: Map<String, Value>,
}

impl From<&Problem> for ProblemBody {
    fn from(problem: &Problem) -> Self {
        Self {
            type_uri: problem.code.type_uri(),
            title: problem.code.title().to_owned(),
            status: problem.status(),
            detail: problem.detail.clone(),
            code: problem.code,
            errors: problem.errors.clone(),
            error: problem.code.title().to_owned(),
            message: problem.message().to_owned(),
            extensions: problem
                .extensions
                .iter()
                .filter(|(key, _)| !RESERVED_MEMBERS.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
