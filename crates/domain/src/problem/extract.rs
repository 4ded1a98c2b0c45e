//! Extractor configs and fallback handlers that turn actix's own rejections (bad JSON,
//! wrong content type, bad query or path) into [`Problem`]s, so no client ever gets actix's
//! plain-text errors.
//!
//! Register them on every app: `.app_data(json_config()).app_data(query_config())
//! .app_data(path_config()).default_service(web::to(route_not_found))`.

use actix_web::HttpResponse;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::web::{JsonConfig, PathConfig, QueryConfig};
use serde_json::error::Category;

use super::{Code, Problem};
use crate::input::{FieldError, MESSAGE_SEPARATOR};

/// `web::Json` settings answering every rejection with a problem: 413 for a body over the
/// limit (actix's default, 2 MiB; shrink it with `.limit(..)`), 415 for a content type other
/// than JSON, 400 `MALFORMED_JSON` for bad syntax, 400 `VALIDATION_FAILED` for a value of the
/// wrong type or one refused by an input type's `parse`.
#[must_use]
pub fn json_config() -> JsonConfig {
    JsonConfig::default().error_handler(|error, _request| Problem::from(error).into())
}

/// `web::Query` settings answering a bad query string with `400 VALIDATION_FAILED`.
///
/// serde's query errors often do not name the field (`invalid digit found in string`), so
/// numeric query parameters are best taken as strings and parsed with a message, as
/// [`crate::Pagination`] does.
#[must_use]
pub fn query_config() -> QueryConfig {
    QueryConfig::default().error_handler(|error, _request| Problem::from(error).into())
}

/// `web::Path` settings answering a malformed path segment (say, an id that is not a UUID)
/// with `400 VALIDATION_FAILED`.
#[must_use]
pub fn path_config() -> PathConfig {
    PathConfig::default().error_handler(|error, _request| Problem::from(error).into())
}

/// Fallback service for unknown paths: `404 ROUTE_NOT_FOUND`.
///
/// # Errors
/// Always; it exists to produce the problem.
pub async fn route_not_found() -> Result<HttpResponse, Problem> {
    Err(Problem::new(Code::RouteNotFound).with_detail("No route matches this path."))
}

/// Fallback for a resource asked with a method it does not serve: `405 METHOD_NOT_ALLOWED`.
/// Register with `web::resource(..).default_service(web::to(method_not_allowed))`.
///
/// # Errors
/// Always; it exists to produce the problem.
pub async fn method_not_allowed() -> Result<HttpResponse, Problem> {
    Err(Problem::new(Code::MethodNotAllowed).with_detail("This path does not accept this method."))
}

impl From<JsonPayloadError> for Problem {
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => too_large(Some(limit)),
            JsonPayloadError::ContentType => Problem::new(Code::UnsupportedMediaType)
                .with_detail("Send the body as JSON with `Content-Type: application/json`."),
            JsonPayloadError::Deserialize(error) => from_json_error(&error),
            JsonPayloadError::Payload(PayloadError::Overflow) => too_large(None),
            JsonPayloadError::Payload(error) => {
                tracing::debug!(%error, "request body could not be read");
                Problem::bad_request("The request body could not be read completely.")
            }
            // Serialize errors happen only when *we* write JSON: a bug.
            error => Problem::internal(&error),
        }
    }
}

impl From<QueryPayloadError> for Problem {
    fn from(error: QueryPayloadError) -> Self {
        match error {
            QueryPayloadError::Deserialize(error) => {
                Problem::validation(field_errors(&error.to_string(), "query"))
            }
            error => Problem::validation(vec![FieldError::new("query", error.to_string())]),
        }
    }
}

impl From<PathError> for Problem {
    fn from(error: PathError) -> Self {
        match error {
            PathError::Deserialize(error) => {
                Problem::validation(field_errors(&error.to_string(), "path"))
            }
            error => Problem::validation(vec![FieldError::new("path", error.to_string())]),
        }
    }
}

fn too_large(limit: Option<usize>) -> Problem {
    let detail = match limit {
        Some(limit) => format!("The request body is larger than the limit of {limit} bytes."),
        None => "The request body is larger than allowed.".to_owned(),
    };
    Problem::new(Code::PayloadTooLarge).with_detail(detail)
}

fn from_json_error(error: &serde_json::Error) -> Problem {
    match error.classify() {
        Category::Syntax | Category::Eof => Problem::new(Code::MalformedJson)
            .with_detail(format!("The request body is not valid JSON: {error}.")),
        Category::Data => {
            // The position helps with syntax errors but only clutters a field message.
            let text = error.to_string();
            let suffix = format!(" at line {} column {}", error.line(), error.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text);
            Problem::validation(field_errors(message, "body"))
        }
        Category::Io => Problem::bad_request("The request body could not be read completely."),
    }
}

/// Recovers field names from serde's messages, which carry no structured path: serde's own
/// "missing field `x`" family, and `field: message; message` from
/// [`crate::ParseError`]'s display. Anything else is reported under `fallback`.
fn field_errors(message: &str, fallback: &str) -> Vec<FieldError> {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned())
    };
    if let Some(field) = named("missing field `") {
        return vec![FieldError::new(field, "is required")];
    }
    if let Some(field) = named("unknown field `") {
        return vec![FieldError::new(field, "is not a known field")];
    }
    if let Some(field) = named("duplicate field `") {
        return vec![FieldError::new(field, "is given more than once")];
    }
    if let Some((field, messages)) = message.split_once(": ")
        && is_field_name(field)
    {
        return messages
            .split(MESSAGE_SEPARATOR)
            .map(|text| FieldError::new(field, text))
            .collect();
    }
    vec![FieldError::new(fallback, message)]
}

/// A camelCase or snake_case identifier such as `dateOfBirth`; excludes serde's prose
/// prefixes like `invalid type`.
fn is_field_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_missing_unknown_and_duplicate_fields_are_named() {
        assert_eq!(
            field_errors("missing field `email`", "body"),
            [FieldError::new("email", "is required")]
        );
        assert_eq!(
            field_errors(
                "unknown field `emali`, expected `email` or `password`",
                "body"
            ),
            [FieldError::new("emali", "is not a known field")]
        );
        assert_eq!(
            field_errors("duplicate field `email`", "body"),
            [FieldError::new("email", "is given more than once")]
        );
    }

    #[test]
    fn parse_error_display_is_split_back_into_field_errors() {
        assert_eq!(
            field_errors(
                "password: must contain a digit; must contain an uppercase letter",
                "body"
            ),
            [
                FieldError::new("password", "must contain a digit"),
                FieldError::new("password", "must contain an uppercase letter"),
            ]
        );
    }

    #[test]
    fn other_messages_fall_back_to_the_given_field() {
        let message = "invalid type: integer `5`, expected a string";
        assert_eq!(
            field_errors(message, "body"),
            [FieldError::new("body", message)]
        );
        assert_eq!(
            field_errors("must be at least 2 characters", "query"),
            [FieldError::new("query", "must be at least 2 characters")]
        );
    }

    #[test]
    fn field_names_are_identifiers_only() {
        assert!(is_field_name("dateOfBirth"));
        assert!(is_field_name("zip_code"));
        assert!(!is_field_name("invalid type"));
        assert!(!is_field_name(""));
        assert!(!is_field_name("1abc"));
    }
}
