//! Parsed input types: each is a newtype with a private field that only its `parse` function
//! can build, so holding one proves the rules held ("parse, don't validate").
//!
//! Each deserializes through `parse`, so a bad value in a JSON body or query string is refused
//! by the extractor with the rule it broke, before a handler runs.

mod date_of_birth;
mod email;
mod error;
mod password;
mod phone;
mod text;
mod us_state;
mod us_zip;

pub use date_of_birth::{DateOfBirth, age_on};
pub use email::Email;
pub(crate) use error::MESSAGE_SEPARATOR;
pub use error::{FieldError, ParseError, Validation, quoted};
pub use password::Password;
pub use phone::PhoneNumber;
pub use text::{AddressLine, BoundedText, City, FreeText, FullName, Instructions, Label};
pub use us_state::UsState;
pub use us_zip::UsZip;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string schema with the given description, example and optional pattern.
pub(crate) fn string_schema(
    description: &str,
    example: &str,
    pattern: Option<&str>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .examples([serde_json::Value::from(example)])
        .into()
}

/// The trait impls every string-backed input type shares. The type must have
/// `fn parse(&str) -> Result<Self, ParseError>` and `fn as_str(&self) -> &str`.
///
/// `serialize` adds `Serialize`, `Display` and `AsRef<str>`; a secret (the password) leaves it
/// out so it can never be written to a response or a log by accident.
macro_rules! string_input {
    ($name:ident, serialize) => {
        $crate::input::string_input!($name);

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = $crate::input::ParseError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::input::ParseError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::input::ParseError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use string_input;
