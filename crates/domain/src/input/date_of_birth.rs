//! [`DateOfBirth`] and [`age_on`]: the exact age arithmetic behind the 21+ rule.

use std::fmt;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use super::{ParseError, quoted};

const FIELD: &str = "dateOfBirth";
/// Anyone born earlier is a typo, not a customer.
const EARLIEST_YEAR: i32 = 1900;

/// Whole years between `birth` and `today`; 0 if `today` is before `birth`.
///
/// A birthday counts from its first day: someone born 2004-05-10 is 21 on 2025-05-10.
/// Someone born on 29 February is a year older on 1 March in common years (and on 29 February
/// in leap years); that is the reading most US states apply to licences and age checks, so a
/// leap-day customer may buy on 2025-03-01 but not on 2025-02-28.
#[must_use]
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let years = today.year() - birth.year();
    // Comparing (month, day) makes 29 Feb "later" than 28 Feb, which gives the March rule.
    let had_birthday = (today.month(), today.day()) >= (birth.month(), birth.day());
    let age = if had_birthday { years } else { years - 1 };
    u32::try_from(age).unwrap_or(0)
}

/// A date of birth given as `YYYY-MM-DD`: a real calendar date, not in the future, not before
/// 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    /// Parses `YYYY-MM-DD`, judging "the future" against today's date in UTC.
    ///
    /// UTC runs ahead of every US time zone, so this lets through at most a date that is
    /// already today somewhere; age checks must use [`DateOfBirth::age_on`] with the
    /// customer's local date.
    ///
    /// # Errors
    /// Under the field `dateOfBirth`, see [`DateOfBirth::parse_on`].
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_on(input, Utc::now().date_naive())
    }

    /// Parses `YYYY-MM-DD`, refusing dates after `today`.
    ///
    /// # Errors
    /// When the text is not exactly `YYYY-MM-DD`, names no real date (`2023-02-29`), is after
    /// `today` or before 1900.
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, ParseError> {
        let text = input.trim();
        // chrono alone would accept `2004-5-9` and `+2004-05-09`; insist on the ISO shape.
        let iso_shape = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !iso_shape {
            return Err(ParseError::new(
                FIELD,
                format!(
                    "could not parse {} as a date in the form YYYY-MM-DD",
                    quoted(text)
                ),
            ));
        }
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ParseError::new(FIELD, format!("{} is not a calendar date", quoted(text)))
        })?;
        Self::from_date(date, today)
    }

    /// Wraps a date already in hand, applying the same rules as [`DateOfBirth::parse_on`].
    ///
    /// # Errors
    /// When `date` is after `today` or before 1900.
    pub fn from_date(date: NaiveDate, today: NaiveDate) -> Result<Self, ParseError> {
        if date > today {
            return Err(ParseError::new(FIELD, "must not be in the future"));
        }
        if date.year() < EARLIEST_YEAR {
            return Err(ParseError::new(FIELD, "must not be before 1900"));
        }
        Ok(Self(date))
    }

    /// The date.
    #[must_use]
    pub const fn date(&self) -> NaiveDate {
        self.0
    }

    /// Age in whole years on `today`; see [`age_on`] for birthdays and 29 February.
    #[must_use]
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        age_on(self.0, today)
    }

    /// Whether the person is at least `years` old on `today`, e.g. `is_at_least(21, today)`.
    #[must_use]
    pub fn is_at_least(&self, years: u32, today: NaiveDate) -> bool {
        self.age_on(today) >= years
    }
}

impl fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for DateOfBirth {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateOfBirth {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<String> for DateOfBirth {
    type Error = ParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl std::str::FromStr for DateOfBirth {
    type Err = ParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl utoipa::PartialSchema for DateOfBirth {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some("Date of birth, YYYY-MM-DD; not in the future."))
            .examples([serde_json::json!("1990-04-17")])
            .into()
    }
}

impl utoipa::ToSchema for DateOfBirth {}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn dob(text: &str) -> DateOfBirth {
        DateOfBirth::parse_on(text, date("2030-01-01")).unwrap()
    }

    #[test]
    fn twenty_first_birthday_itself_counts() {
        let born = dob("2004-05-10");
        assert_eq!(born.age_on(date("2025-05-10")), 21);
        assert!(born.is_at_least(21, date("2025-05-10")));
    }

    #[test]
    fn day_before_and_after_the_birthday() {
        let born = dob("2004-05-10");
        assert_eq!(born.age_on(date("2025-05-09")), 20);
        assert!(!born.is_at_least(21, date("2025-05-09")));
        assert_eq!(born.age_on(date("2025-05-11")), 21);
    }

    #[test]
    fn turning_a_year_at_new_year_boundaries() {
        let born = dob("2003-12-31");
        assert_eq!(born.age_on(date("2024-12-30")), 20);
        assert_eq!(born.age_on(date("2024-12-31")), 21);
        let born = dob("2004-01-01");
        assert_eq!(born.age_on(date("2024-12-31")), 20);
        assert_eq!(born.age_on(date("2025-01-01")), 21);
    }

    #[test]
    fn leap_day_birth_turns_21_on_march_first_in_common_years() {
        let born = dob("2004-02-29");
        assert_eq!(born.age_on(date("2025-02-28")), 20);
        assert!(!born.is_at_least(21, date("2025-02-28")));
        assert_eq!(born.age_on(date("2025-03-01")), 21);
        assert!(born.is_at_least(21, date("2025-03-01")));
    }

    #[test]
    fn leap_day_birth_has_its_birthday_on_leap_day_in_leap_years() {
        let born = dob("2004-02-29");
        assert_eq!(born.age_on(date("2028-02-28")), 23);
        assert_eq!(born.age_on(date("2028-02-29")), 24);
    }

    #[test]
    fn age_is_zero_on_birth_and_before_it() {
        assert_eq!(age_on(date("2020-06-15"), date("2020-06-15")), 0);
        assert_eq!(age_on(date("2020-06-15"), date("2019-01-01")), 0);
        assert_eq!(age_on(date("2020-06-15"), date("2021-06-14")), 0);
        assert_eq!(age_on(date("2020-06-15"), date("2021-06-15")), 1);
    }

    #[test]
    fn rejects_future_dates_but_accepts_today() {
        let today = date("2025-06-01");
        assert!(DateOfBirth::parse_on("2025-06-01", today).is_ok());
        let error = DateOfBirth::parse_on("2025-06-02", today).unwrap_err();
        assert_eq!(error.field(), Some("dateOfBirth"));
        assert_eq!(error.messages(), ["must not be in the future"]);
    }

    #[test]
    fn rejects_dates_before_1900() {
        let today = date("2025-06-01");
        assert!(DateOfBirth::parse_on("1900-01-01", today).is_ok());
        assert_eq!(
            DateOfBirth::parse_on("1899-12-31", today)
                .unwrap_err()
                .messages(),
            ["must not be before 1900"]
        );
    }

    #[test]
    fn rejects_other_shapes_and_impossible_dates() {
        let today = date("2025-06-01");
        for bad in [
            "",
            "2004-5-10",
            "10/05/2004",
            "2004-05-10T00:00:00Z",
            "+2004-05-10",
            "20040510",
            "2004_05_10",
        ] {
            let error = DateOfBirth::parse_on(bad, today).unwrap_err();
            assert!(error.to_string().contains("YYYY-MM-DD"), "{bad}: {error}");
        }
        for bad in ["2023-02-29", "2004-13-01", "2004-04-31", "2004-00-10"] {
            let error = DateOfBirth::parse_on(bad, today).unwrap_err();
            assert!(
                error.to_string().contains("is not a calendar date"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn serde_round_trip_uses_iso_dates() {
        let born: DateOfBirth = serde_json::from_str("\"1990-04-17\"").unwrap();
        assert_eq!(born.date(), date("1990-04-17"));
        assert_eq!(serde_json::to_string(&born).unwrap(), "\"1990-04-17\"");
        assert!(serde_json::from_str::<DateOfBirth>("\"2999-01-01\"").is_err());
    }
}
