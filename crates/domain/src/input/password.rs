//! [`Password`]: a new password that meets the sign-up policy. Never printed, never serialized.

use std::fmt;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use super::ParseError;

const FIELD: &str = "password";
const MIN_CHARS: usize = 8;
/// Bounds the work of hashing; no passphrase a person types is longer.
const MAX_CHARS: usize = 128;
/// The symbol set of the guide's policy (`(?=.*[!@#$%^&*])`).
const SYMBOLS: &str = "!@#$%^&*";

/// A password chosen by a user that meets the policy: 8 to 128 characters with at least one
/// lowercase letter, one uppercase letter, one digit and one of `!@#$%^&*`. Other characters,
/// spaces included, are allowed and kept verbatim (no trimming: the password is what was typed).
///
/// Use it only where a password is *chosen* (sign-up, reset, change). Logging in must accept
/// any string, or accounts created under an older policy could never sign in again.
///
/// `Debug` prints `Password(<redacted>)`; there is no `Display`, `Serialize` or `AsRef<str>`,
/// so the only way to the text is the explicit [`Password::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the policy.
    ///
    /// # Errors
    /// Every rule the input breaks, so the user can fix them all in one go.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let chars = input.chars().count();
        let mut broken = Vec::new();
        if chars < MIN_CHARS {
            broken.push(format!("must be at least {MIN_CHARS} characters"));
        }
        if chars > MAX_CHARS {
            broken.push(format!("must be at most {MAX_CHARS} characters"));
        }
        if !input.chars().any(|c| c.is_ascii_lowercase()) {
            broken.push("must contain a lowercase letter".to_owned());
        }
        if !input.chars().any(|c| c.is_ascii_uppercase()) {
            broken.push("must contain an uppercase letter".to_owned());
        }
        if !input.chars().any(|c| c.is_ascii_digit()) {
            broken.push("must contain a digit".to_owned());
        }
        if !input.chars().any(|c| SYMBOLS.contains(c)) {
            broken.push(format!("must contain one of the symbols {SYMBOLS}"));
        }
        if broken.is_empty() {
            Ok(Self(input.to_owned()))
        } else {
            Err(ParseError::with_messages(FIELD, broken))
        }
    }

    /// The password text, for hashing. Named so that every use stands out in review.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

super::string_input!(Password);

impl utoipa::PartialSchema for Password {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .min_length(Some(MIN_CHARS))
            .max_length(Some(MAX_CHARS))
            .description(Some(
                "8 to 128 characters with a lowercase letter, an uppercase letter, a digit and one of !@#$%^&*",
            ))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(input: &str) -> Vec<String> {
        let error = Password::parse(input).unwrap_err();
        assert_eq!(error.field(), Some("password"));
        error.messages().to_vec()
    }

    #[test]
    fn accepts_a_password_meeting_every_rule() {
        let password = Password::parse("Sunny#Day7").unwrap();
        assert_eq!(password.expose(), "Sunny#Day7");
    }

    #[test]
    fn keeps_surrounding_spaces_verbatim() {
        assert_eq!(
            Password::parse(" Sunny#Day7 ").unwrap().expose(),
            " Sunny#Day7 "
        );
    }

    #[test]
    fn length_bounds_are_inclusive_and_count_characters() {
        assert!(Password::parse("Aa1!aaaa").is_ok());
        assert_eq!(broken("Aa1!aaa"), ["must be at least 8 characters"]);
        let at_max = format!("Aa1!{}", "é".repeat(124));
        assert!(Password::parse(&at_max).is_ok());
        let over = format!("Aa1!{}", "é".repeat(125));
        assert_eq!(broken(&over), ["must be at most 128 characters"]);
    }

    #[test]
    fn each_missing_class_is_reported() {
        assert_eq!(broken("AAAA1111!"), ["must contain a lowercase letter"]);
        assert_eq!(broken("aaaa1111!"), ["must contain an uppercase letter"]);
        assert_eq!(broken("aaaaAAAA!"), ["must contain a digit"]);
        assert_eq!(
            broken("aaaaAAAA1"),
            ["must contain one of the symbols !@#$%^&*"]
        );
    }

    #[test]
    fn symbols_outside_the_policy_set_do_not_count() {
        assert_eq!(
            broken("aaaaAAAA1?"),
            ["must contain one of the symbols !@#$%^&*"]
        );
        for symbol in SYMBOLS.chars() {
            assert!(
                Password::parse(&format!("aaaaAAA1{symbol}")).is_ok(),
                "{symbol}"
            );
        }
    }

    #[test]
    fn every_unmet_rule_is_listed_at_once() {
        assert_eq!(
            broken(""),
            [
                "must be at least 8 characters",
                "must contain a lowercase letter",
                "must contain an uppercase letter",
                "must contain a digit",
                "must contain one of the symbols !@#$%^&*",
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = Password::parse("Sunny#Day7").unwrap();
        let shown = format!("{password:?} {:?}", Some(&password));
        assert!(!shown.contains("Sunny"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn deserialization_error_lists_the_rules_without_the_value() {
        let err = serde_json::from_str::<Password>("\"secretpass\"").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("password: must contain an uppercase letter; must contain a digit"),
            "{text}"
        );
        assert!(!text.contains("secretpass"));
    }
}
