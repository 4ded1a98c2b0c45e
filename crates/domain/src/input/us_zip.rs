//! [`UsZip`]: a US ZIP or ZIP+4 code.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use super::{ParseError, string_schema};

const FIELD: &str = "zipCode";
const PATTERN: &str = r"^\d{5}(-\d{4})?$";

/// A ZIP code, `12345` or `12345-6789` (the guide's pattern), trimmed. `00000`, which USPS
/// never assigns, is refused because it is what people type to skip the field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsZip(String);

impl UsZip {
    /// Checks the shape.
    ///
    /// # Errors
    /// Under the field `zipCode`, when the input is not five digits with an optional `-` and
    /// four more.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let zip = input.trim();
        let (five, four) = match zip.split_once('-') {
            Some((five, four)) => (five, Some(four)),
            None => (zip, None),
        };
        let digits =
            |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(five, 5) || four.is_some_and(|four| !digits(four, 4)) {
            return Err(ParseError::new(
                FIELD,
                "must be 5 digits, optionally followed by `-` and 4 digits",
            ));
        }
        if five == "00000" {
            return Err(ParseError::new(FIELD, "must be a real ZIP code"));
        }
        Ok(Self(zip.to_owned()))
    }

    /// The code as given, `12345` or `12345-6789`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The five-digit ZIP, which is what delivery areas and ZIP centroids are keyed by.
    #[must_use]
    pub fn five(&self) -> &str {
        self.0.get(..5).unwrap_or(&self.0)
    }

    /// The `+4` part, when given.
    #[must_use]
    pub fn plus_four(&self) -> Option<&str> {
        self.0.get(6..)
    }
}

super::string_input!(UsZip, serialize);

impl utoipa::PartialSchema for UsZip {
    fn schema() -> RefOr<Schema> {
        string_schema("US ZIP or ZIP+4 code.", "78701", Some(PATTERN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_zip_and_zip_plus_four() {
        let zip = UsZip::parse("78701").unwrap();
        assert_eq!(
            (zip.as_str(), zip.five(), zip.plus_four()),
            ("78701", "78701", None)
        );
        let zip = UsZip::parse(" 78701-1234 ").unwrap();
        assert_eq!(
            (zip.as_str(), zip.five(), zip.plus_four()),
            ("78701-1234", "78701", Some("1234"))
        );
    }

    #[test]
    fn rejects_wrong_shapes() {
        for bad in [
            "",
            "7870",
            "787011",
            "78701-123",
            "78701-12345",
            "7870a",
            "78701-",
            "-1234",
            "78701 1234",
            "７８７０１",
        ] {
            let error = UsZip::parse(bad).unwrap_err();
            assert_eq!(error.field(), Some("zipCode"));
            assert_eq!(
                error.messages(),
                ["must be 5 digits, optionally followed by `-` and 4 digits"],
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_all_zero_zip() {
        assert_eq!(
            UsZip::parse("00000").unwrap_err().messages(),
            ["must be a real ZIP code"]
        );
        assert!(UsZip::parse("00501").is_ok());
    }

    #[test]
    fn serde_round_trip() {
        let zip: UsZip = serde_json::from_str("\"10001-0001\"").unwrap();
        assert_eq!(serde_json::to_string(&zip).unwrap(), "\"10001-0001\"");
        assert!(serde_json::from_str::<UsZip>("\"1000\"").is_err());
    }
}
