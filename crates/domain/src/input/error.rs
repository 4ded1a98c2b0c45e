//! Errors of parsed input: [`ParseError`] (one value failed its rules), [`FieldError`] (what a
//! client sees in `errors[]`) and [`Validation`] (collects every failing field of a request).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;

/// One entry of a problem's `errors` array: which request field is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The request field in the client's spelling, e.g. `email`, `limit`, `items[2].quantity`.
    #[schema(example = "email")]
    pub field: String,
    /// What is wrong, phrased to follow the field name, e.g. "must be at most 254 characters".
    #[schema(example = "must contain exactly one `@`")]
    pub message: String,
}

impl FieldError {
    /// A field error from its two parts.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a single value was refused by a `parse` function.
///
/// It carries every broken rule (a password can break several at once) and, where the type
/// has one conventional request field (`email`, `zipCode`), that field's name. Generic types
/// such as [`crate::BoundedText`] leave the field to the caller ([`ParseError::at`],
/// [`Validation::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    field: Option<Cow<'static, str>>,
    messages: Vec<String>,
}

impl ParseError {
    /// An error of the conventional field `field` with one message.
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            messages: vec![message.into()],
        }
    }

    /// An error with one message and no field name; the caller knows the field.
    pub fn unnamed(message: impl Into<String>) -> Self {
        Self {
            field: None,
            messages: vec![message.into()],
        }
    }

    /// An error listing several broken rules of one field.
    pub fn with_messages(field: impl Into<Cow<'static, str>>, messages: Vec<String>) -> Self {
        Self {
            field: Some(field.into()),
            messages,
        }
    }

    /// The same error reported under another field name, e.g. `deliveryAddress.zipCode`.
    #[must_use]
    pub fn at(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The field name, when known.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Every broken rule, in the order the rules are checked.
    #[must_use]
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// One [`FieldError`] per broken rule; a missing field name becomes `value`.
    #[must_use]
    pub fn into_field_errors(self) -> Vec<FieldError> {
        let field = self.field.unwrap_or(Cow::Borrowed("value"));
        self.messages
            .into_iter()
            .map(|message| FieldError::new(field.as_ref(), message))
            .collect()
    }
}

/// `field: message; message`. Serde shows this text when a `TryFrom<String>` input type fails
/// inside a JSON body, and [`crate::problem::json_config`] splits it back into field errors,
/// so keep the shape: a field name without spaces, `": "`, messages joined by `"; "`.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.messages.join(MESSAGE_SEPARATOR))
    }
}

impl std::error::Error for ParseError {}

/// Separates the messages of one field in [`ParseError`]'s display.
pub(crate) const MESSAGE_SEPARATOR: &str = "; ";

impl From<ParseError> for Vec<FieldError> {
    fn from(error: ParseError) -> Self {
        error.into_field_errors()
    }
}

/// Quotes client input for an error message, cut short so a huge value cannot bloat the
/// answer or the logs: `abc` becomes "`abc`".
pub fn quoted(input: &str) -> String {
    const MAX_CHARS: usize = 40;
    match input.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("`{}…`", &input[..cut]),
        None => format!("`{input}`"),
    }
}

/// Collects the field errors of a whole request so the client learns about all of them at
/// once instead of one per round trip.
///
/// ```
/// use domain::{Email, FullName, Problem, Validation};
///
/// struct NewUser { email: Email, name: FullName }
///
/// fn parse_new_user(email: &str, name: &str) -> Result<NewUser, Problem> {
///     let mut v = Validation::new();
///     let email = v.check("email", Email::parse(email));
///     let name = v.check("fullName", FullName::parse(name));
///     v.finish(|| Some(NewUser { email: email?, name: name? }))
/// }
///
/// assert!(parse_new_user("ada@example.com", "Ada Lovelace").is_ok());
/// let problem = parse_new_user("ada", "A").err().unwrap();
/// let fields: Vec<&str> = problem.errors().iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["email", "fullName"]);
/// ```
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    /// An empty collector.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the errors of `result` under `field` (overriding the type's own field name,
    /// since the request decides what the field is called) and passes the value on.
    pub fn check<T>(&mut self, field: &str, result: Result<T, ParseError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.extend(
                    error
                        .messages
                        .into_iter()
                        .map(|message| FieldError::new(field, message)),
                );
                None
            }
        }
    }

    /// Parses a required field with `parse`, recording "is required" when it is absent.
    pub fn required<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        match value {
            Some(value) => self.check(field, parse(value)),
            None => {
                self.add(field, "is required");
                None
            }
        }
    }

    /// Records a rule that spans fields or needs no parser, e.g. "must not be before `from`".
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Whether nothing has failed so far.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors collected so far.
    #[must_use]
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// A `400 VALIDATION_FAILED` problem with every collected error, or the value built by
    /// `build` (typically from the `Option`s returned by [`Validation::check`]).
    ///
    /// # Errors
    /// The collected errors as a problem. If there were none but `build` still returns
    /// `None`, a field was never checked: that is a bug, answered as a 500 and logged.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Problem> {
        if !self.errors.is_empty() {
            return Err(Problem::validation(self.errors));
        }
        build().ok_or_else(|| {
            Problem::internal(
                &"validation passed but a parsed value was missing; a field was not checked",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Code;

    #[test]
    fn display_prefixes_the_field_and_joins_messages() {
        let error = ParseError::with_messages("password", vec!["a".into(), "b".into()]);
        assert_eq!(error.to_string(), "password: a; b");
        assert_eq!(ParseError::unnamed("too short").to_string(), "too short");
    }

    #[test]
    fn required_reports_absence_and_parse_errors_under_the_field() {
        let mut v = Validation::new();
        assert_eq!(
            v.required("a", Some("7"), |s| s
                .parse::<u8>()
                .map_err(|_| ParseError::unnamed("bad"))),
            Some(7)
        );
        assert_eq!(v.required::<u8>("b", None, |_| Ok(0)), None);
        assert_eq!(
            v.required("c", Some("x"), |s| s
                .parse::<u8>()
                .map_err(|_| ParseError::unnamed("bad"))),
            None
        );
        let fields: Vec<(&str, &str)> = v
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(fields, [("b", "is required"), ("c", "bad")]);
    }

    #[test]
    fn at_renames_the_field() {
        let error = ParseError::new("zipCode", "bad").at("address.zipCode");
        assert_eq!(error.field(), Some("address.zipCode"));
    }

    #[test]
    fn into_field_errors_gives_one_entry_per_message_and_defaults_the_field() {
        let errors =
            ParseError::with_messages("password", vec!["a".into(), "b".into()]).into_field_errors();
        assert_eq!(
            errors,
            vec![
                FieldError::new("password", "a"),
                FieldError::new("password", "b")
            ]
        );
        let errors: Vec<FieldError> = ParseError::unnamed("x").into();
        assert_eq!(errors, vec![FieldError::new("value", "x")]);
    }

    #[test]
    fn quoted_cuts_long_input_on_a_char_boundary() {
        assert_eq!(quoted("abc"), "`abc`");
        let long = "é".repeat(50);
        let shown = quoted(&long);
        assert_eq!(shown.chars().filter(|c| *c == 'é').count(), 40);
        assert!(shown.ends_with("…`"));
    }

    #[test]
    fn validation_collects_every_failure_under_the_callers_field_names() {
        let mut v = Validation::new();
        let a: Option<u8> = v.check("first", Err(ParseError::new("x", "bad one")));
        let b: Option<u8> = v.check(
            "second",
            Err(ParseError::with_messages(
                "y",
                vec!["m1".into(), "m2".into()],
            )),
        );
        let c = v.check("third", Ok::<u8, ParseError>(3));
        v.add("range", "must not be empty");
        assert_eq!((a, b, c), (None, None, Some(3)));
        assert!(!v.is_valid());
        let problem = v.finish(|| Some(())).unwrap_err();
        assert_eq!(problem.code(), Code::ValidationFailed);
        let fields: Vec<&str> = problem.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first", "second", "second", "range"]);
    }

    #[test]
    fn validation_without_errors_returns_the_built_value() {
        let mut v = Validation::new();
        let a = v.check("a", Ok::<u8, ParseError>(1));
        assert!(v.is_valid());
        assert_eq!(v.finish(|| Some(a? + 1)).unwrap(), 2);
    }

    #[test]
    fn validation_that_forgot_a_field_is_an_internal_error() {
        let v = Validation::new();
        let problem = v.finish(|| None::<u8>).unwrap_err();
        assert_eq!(problem.code(), Code::Internal);
    }
}
