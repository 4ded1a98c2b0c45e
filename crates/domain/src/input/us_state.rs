//! [`UsState`]: a USPS two-letter state code, from a closed table.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::{ParseError, quoted};

const FIELD: &str = "state";

/// Every accepted code with its name: the 50 states, the District of Columbia and the five
/// inhabited territories (PR, VI, GU, AS, MP). Whether delivery is *licensed* in a state is a
/// business rule of the services, not a property of the address.
const STATES: [(&str, &str); 56] = [
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("DC", "District of Columbia"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("GU", "Guam"),
    ("AS", "American Samoa"),
    ("MP", "Northern Mariana Islands"),
];

/// A USPS state or territory code such as `TX`; input is case-insensitive and trimmed,
/// the stored form is uppercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsState(&'static str);

impl UsState {
    /// Looks a code up in the table.
    ///
    /// # Errors
    /// Under the field `state`, when the input is not a known two-letter code.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let code = input.trim().to_ascii_uppercase();
        STATES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(known, _)| Self(known))
            .ok_or_else(|| {
                ParseError::new(
                    FIELD,
                    format!(
                        "{} is not a US state code such as `TX`",
                        quoted(input.trim())
                    ),
                )
            })
    }

    /// The uppercase code, e.g. `TX`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        self.0
    }

    /// The full name, e.g. `Texas`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        STATES
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or("", |(_, name)| name)
    }

    /// Every accepted code, in table order.
    pub fn all() -> impl Iterator<Item = Self> {
        STATES.iter().map(|(code, _)| Self(code))
    }
}

super::string_input!(UsState, serialize);

impl utoipa::PartialSchema for UsState {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "USPS state or territory code; input is case-insensitive.",
            ))
            .enum_values(Some(STATES.iter().map(|(code, _)| *code)))
            .examples([serde_json::json!("TX")])
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_case_and_stores_uppercase() {
        for input in ["tx", "TX", "Tx", " tx "] {
            assert_eq!(UsState::parse(input).unwrap().as_str(), "TX");
        }
        assert_eq!(UsState::parse("tx").unwrap().name(), "Texas");
    }

    #[test]
    fn accepts_dc_and_territories() {
        for code in ["DC", "PR", "VI", "GU", "AS", "MP"] {
            assert!(UsState::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn table_has_fifty_states_dc_and_five_territories_without_duplicates() {
        let mut codes: Vec<&str> = UsState::all().map(|s| s.as_str()).collect();
        assert_eq!(codes.len(), 56);
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 56);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))
        );
    }

    #[test]
    fn rejects_unknown_codes_names_and_wrong_lengths() {
        for bad in ["", "T", "TXX", "XX", "Texas", "ZZ", "T1"] {
            let error = UsState::parse(bad).unwrap_err();
            assert_eq!(error.field(), Some("state"));
            assert!(
                error.to_string().contains("is not a US state code"),
                "{bad}"
            );
        }
    }

    #[test]
    fn serde_uses_the_code() {
        let state: UsState = serde_json::from_str("\"ca\"").unwrap();
        assert_eq!(serde_json::to_string(&state).unwrap(), "\"CA\"");
        assert!(serde_json::from_str::<UsState>("\"QQ\"").is_err());
    }
}
