//! [`PhoneNumber`]: a US (NANP) phone number, accepted in the ways people type it and kept
//! in E.164 so that every copy of one number compares equal.

use std::sync::LazyLock;

use regex::Regex;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use super::{ParseError, string_schema};

const FIELD: &str = "phone";

/// An optional `1`/`+1` country code, then area code (optionally in parentheses), exchange and
/// line number, each group optionally separated by one space, dot or hyphen.
static US_FORMAT: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "a literal pattern; `accepts_every_documented_format` compiles it"
    )]
    Regex::new(r"^(?:\+?1[ .-]?)?(?:\((\d{3})\)|(\d{3}))[ .-]?(\d{3})[ .-]?(\d{4})$")
        .expect("phone pattern compiles")
});

/// A US phone number in E.164 form (`+15125550134`).
///
/// Accepts `(512) 555-0134`, `512-555-0134`, `512.555.0134`, `5125550134`, `+1 512 555 0134`,
/// `1-512-555-0134` and similar. Refuses other country codes, wrong digit counts, letters
/// (vanity numbers), and what the North American Numbering Plan never assigns: area codes and
/// exchanges starting with 0 or 1, and `N11` service codes such as 911.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a US number in any common format.
    ///
    /// # Errors
    /// The first rule the input breaks, under the field `phone`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let fail = |message: &str| Err(ParseError::new(FIELD, message));
        let input = input.trim();
        if input.is_empty() {
            return fail("must not be empty");
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_digit() || " ().-+".contains(c))
        {
            return fail("may contain only digits, spaces and ( ) - . +");
        }
        if input.starts_with('+') && !input.starts_with("+1") {
            return fail("must be a US number (+1)");
        }
        let digits = input.chars().filter(char::is_ascii_digit).count();
        if digits != 10 && !(digits == 11 && input.trim_start_matches('+').starts_with('1')) {
            return fail("must have 10 digits");
        }
        let Some(groups) = US_FORMAT.captures(input) else {
            return fail("must be written like (512) 555-0134");
        };
        let area = groups
            .get(1)
            .or_else(|| groups.get(2))
            .map_or("", |m| m.as_str());
        let exchange = groups.get(3).map_or("", |m| m.as_str());
        let line = groups.get(4).map_or("", |m| m.as_str());
        if area.starts_with(['0', '1']) {
            return fail("must have an area code that does not start with 0 or 1");
        }
        if area.ends_with("11") {
            return fail("must not use a service code such as 911 as area code");
        }
        if exchange.starts_with(['0', '1']) {
            return fail("must have an exchange (digits 4 to 6) that does not start with 0 or 1");
        }
        if exchange.ends_with("11") {
            return fail("must not use a service code such as 411 as exchange");
        }
        Ok(Self(format!("+1{area}{exchange}{line}")))
    }

    /// E.164 form, e.g. `+15125550134`: what is stored and sent to SMS providers.
    #[must_use]
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// Same as [`PhoneNumber::as_e164`]; the form used on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The national display form, e.g. `(512) 555-0134`.
    #[must_use]
    pub fn national(&self) -> String {
        let digits = self.0.get(2..).unwrap_or_default();
        let part = |range: std::ops::Range<usize>| digits.get(range).unwrap_or_default();
        format!("({}) {}-{}", part(0..3), part(3..6), part(6..10))
    }
}

super::string_input!(PhoneNumber, serialize);

impl utoipa::PartialSchema for PhoneNumber {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "A US phone number. Accepted in common formats such as `(512) 555-0134`; \
             answered in E.164.",
            "+15125550134",
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &str) -> String {
        let error = PhoneNumber::parse(input).unwrap_err();
        assert_eq!(error.field(), Some("phone"));
        error.messages().join("; ")
    }

    #[test]
    fn accepts_every_documented_format() {
        for input in [
            "(512) 555-0134",
            "512-555-0134",
            "512.555.0134",
            "5125550134",
            "+1 512 555 0134",
            "1-512-555-0134",
            "+15125550134",
            "15125550134",
            "+1 (512) 555-0134",
            "(512)555-0134",
            "  512 555 0134  ",
        ] {
            let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(phone.as_e164(), "+15125550134", "{input}");
        }
    }

    #[test]
    fn national_form_matches_the_guides_pattern() {
        let phone = PhoneNumber::parse("+1 512 555 0134").unwrap();
        assert_eq!(phone.national(), "(512) 555-0134");
    }

    #[test]
    fn rejects_wrong_digit_counts() {
        assert_eq!(message("512-555-013"), "must have 10 digits");
        assert_eq!(message("512-555-01345"), "must have 10 digits");
        assert_eq!(message("25125550134"), "must have 10 digits");
        assert_eq!(message("+1 512 555 01345"), "must have 10 digits");
    }

    #[test]
    fn rejects_letters_and_other_countries() {
        assert_eq!(
            message("512-555-CALL"),
            "may contain only digits, spaces and ( ) - . +"
        );
        assert_eq!(message("+44 20 7946 0958"), "must be a US number (+1)");
        assert_eq!(message(""), "must not be empty");
    }

    #[test]
    fn rejects_malformed_punctuation() {
        for bad in [
            "(512 555-0134",
            "512--555-0134",
            "51-2555-0134",
            "512-555-0134+",
            "+1+5125550134",
        ] {
            assert_eq!(message(bad), "must be written like (512) 555-0134", "{bad}");
        }
    }

    #[test]
    fn applies_nanp_rules_to_area_code_and_exchange() {
        assert_eq!(
            message("012-555-0134"),
            "must have an area code that does not start with 0 or 1"
        );
        assert_eq!(
            message("112-555-0134"),
            "must have an area code that does not start with 0 or 1"
        );
        assert_eq!(
            message("911-555-0134"),
            "must not use a service code such as 911 as area code"
        );
        assert_eq!(
            message("512-055-0134"),
            "must have an exchange (digits 4 to 6) that does not start with 0 or 1"
        );
        assert_eq!(
            message("512-155-0134"),
            "must have an exchange (digits 4 to 6) that does not start with 0 or 1"
        );
        assert_eq!(
            message("512-411-0134"),
            "must not use a service code such as 411 as exchange"
        );
        assert!(PhoneNumber::parse("212-255-0134").is_ok());
    }

    #[test]
    fn ten_digits_starting_with_one_is_not_read_as_a_country_code() {
        assert_eq!(
            message("1235550134"),
            "must have an area code that does not start with 0 or 1"
        );
    }

    #[test]
    fn serializes_as_e164() {
        let phone: PhoneNumber = serde_json::from_str("\"(512) 555-0134\"").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+15125550134\"");
        assert_eq!(phone.to_string(), "+15125550134");
    }
}
