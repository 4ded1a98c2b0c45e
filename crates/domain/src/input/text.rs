//! Length-bounded free text: names, address lines, delivery instructions.
//!
//! Limits count Unicode scalar values after trimming, so "José" is 4 characters, and the
//! limits match the guide's Joi schemas (`fullName` 2..=100, `addressLine1` 5..=255, ...).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::ParseError;

/// A person's full name (guide: 2 to 100 characters).
pub type FullName = BoundedText<2, 100>;
/// A street address line (guide: `addressLine1`, 5 to 255 characters).
pub type AddressLine = BoundedText<5, 255>;
/// A city name (guide: 2 to 100 characters).
pub type City = BoundedText<2, 100>;
/// A short label chosen by a user, e.g. an address's name "Home" (1 to 100 characters).
pub type Label = BoundedText<1, 100>;
/// Delivery or order instructions (guide: up to 500 characters, may be empty).
pub type Instructions = FreeText<500>;

/// Single-line text of `MIN..=MAX` characters after trimming, with no control characters
/// (a newline in a name would break receipts, CSV exports and log lines).
///
/// The field name is the caller's: errors are unnamed, name them with
/// [`crate::Validation::check`] or [`ParseError::at`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    /// Trims and checks the bounds.
    ///
    /// # Errors
    /// Unnamed: when the text is too short, too long or contains a control character.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let chars = text.chars().count();
        if chars == 0 && MIN > 0 {
            return Err(ParseError::unnamed("must not be empty"));
        }
        if chars < MIN {
            return Err(ParseError::unnamed(format!(
                "must be at least {MIN} characters"
            )));
        }
        if chars > MAX {
            return Err(ParseError::unnamed(format!(
                "must be at most {MAX} characters"
            )));
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::unnamed(
                "must be a single line without control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The trimmed text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unwraps the trimmed text.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Possibly empty, possibly multi-line text of at most `MAX` characters after trimming. Line
/// breaks and tabs are kept; other control characters are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FreeText<const MAX: usize>(String);

impl<const MAX: usize> FreeText<MAX> {
    /// Trims and checks the bound.
    ///
    /// # Errors
    /// Unnamed: when the text is too long or contains a control character other than
    /// `\n`, `\r` or `\t`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.chars().count() > MAX {
            return Err(ParseError::unnamed(format!(
                "must be at most {MAX} characters"
            )));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ParseError::unnamed(
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The trimmed text, possibly empty.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether nothing was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Unwraps the trimmed text.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The impls both text types share; written once so the two cannot drift.
macro_rules! text_impls {
    ([$($generics:tt)*] $ty:ty, $name:expr, $min:expr, $max:expr) => {
        impl<$($generics)*> TryFrom<String> for $ty {
            type Error = ParseError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl<$($generics)*> std::str::FromStr for $ty {
            type Err = ParseError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl<$($generics)*> AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl<$($generics)*> fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<$($generics)*> Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de, $($generics)*> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl<$($generics)*> utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length($min)
                    .max_length(Some($max))
                    .description(Some("Text, trimmed of surrounding whitespace."))
                    .into()
            }
        }

        // Each instantiation needs its own component name, or every bounded text in the
        // OpenAPI document would collapse into one schema with the first one's limits.
        impl<$($generics)*> utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Owned($name)
            }
        }
    };
}

text_impls!(
    [const MIN: usize, const MAX: usize] BoundedText<MIN, MAX>,
    format!("Text{MIN}To{MAX}"),
    Some(MIN),
    MAX
);
text_impls!([const MAX: usize] FreeText<MAX>, format!("TextUpTo{MAX}"), None, MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        let name = FullName::parse("  José  ").unwrap();
        assert_eq!(name.as_str(), "José");
        assert!(FullName::parse("Jó").is_ok());
    }

    #[test]
    fn bounds_are_inclusive() {
        assert!(FullName::parse(&"a".repeat(100)).is_ok());
        assert_eq!(
            FullName::parse(&"a".repeat(101)).unwrap_err().messages(),
            ["must be at most 100 characters"]
        );
        assert_eq!(
            FullName::parse("A").unwrap_err().messages(),
            ["must be at least 2 characters"]
        );
        assert!(AddressLine::parse("1 Ma").is_err());
        assert!(AddressLine::parse("1 Main").is_ok());
    }

    #[test]
    fn blank_is_empty_not_too_short() {
        let error = Label::parse("   ").unwrap_err();
        assert_eq!(error.messages(), ["must not be empty"]);
        assert_eq!(error.field(), None);
    }

    #[test]
    fn single_line_text_refuses_control_characters() {
        for bad in ["Ada\nLovelace", "Ada\u{0}x", "Ada\tLovelace"] {
            assert_eq!(
                FullName::parse(bad).unwrap_err().messages(),
                ["must be a single line without control characters"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn free_text_may_be_empty_and_multiline() {
        assert!(Instructions::parse("").unwrap().is_empty());
        let text = Instructions::parse(" Ring twice.\nDog is friendly.\t ").unwrap();
        assert_eq!(text.as_str(), "Ring twice.\nDog is friendly.");
        assert!(Instructions::parse(&"x".repeat(500)).is_ok());
        assert!(Instructions::parse(&"x".repeat(501)).is_err());
        assert_eq!(
            Instructions::parse("beep\u{7}").unwrap_err().messages(),
            ["must not contain control characters other than line breaks and tabs"]
        );
    }

    #[test]
    fn serde_trims_and_refuses() {
        let city: City = serde_json::from_str("\" Austin \"").unwrap();
        assert_eq!(serde_json::to_string(&city).unwrap(), "\"Austin\"");
        let err = serde_json::from_str::<City>("\"A\"").unwrap_err();
        assert!(
            err.to_string().starts_with("must be at least 2 characters"),
            "{err}"
        );
    }

    #[test]
    fn each_instantiation_has_its_own_schema_name() {
        use utoipa::ToSchema;
        assert_eq!(FullName::name(), "Text2To100");
        assert_eq!(AddressLine::name(), "Text5To255");
        assert_eq!(Instructions::name(), "TextUpTo500");
        let schema =
            serde_json::to_value(<AddressLine as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            (schema["minLength"].as_u64(), schema["maxLength"].as_u64()),
            (Some(5), Some(255))
        );
    }
}
