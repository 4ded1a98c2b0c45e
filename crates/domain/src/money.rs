//! [`Money`]: an exact, non-negative US dollar amount in whole cents.
//!
//! Kept as an `i64` count of cents rather than a `BigDecimal`: cents are exact, `Copy`,
//! cheap to compare and what events carry, and no amount this business handles comes near
//! the `i64` limit. Decimals appear only at the edges: the API's two-place string (`"24.99"`),
//! PostgreSQL `NUMERIC` columns and tax rates. Never a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul};
use std::str::FromStr;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, RoundingMode, Signed, ToPrimitive};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Numeric;
use serde::de::{self, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::input::{ParseError, quoted, string_schema};

const FIELD: &str = "amount";
/// The API's shape: whole dollars, optionally a point and one or two digits.
const PATTERN: &str = r"^\d+(\.\d{1,2})?$";

/// A non-negative amount of US dollars, exact to the cent.
///
/// It cannot go negative: subtraction is [`Money::checked_sub`] or [`Money::saturating_sub`],
/// so a discount larger than a subtotal is a decision in code, not a silent negative total.
/// `+`, `*` and `sum` panic on overflow like integer arithmetic (past 92 quadrillion dollars,
/// which only a bug reaches); the `checked_*` methods return `None` instead.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Numeric)]
pub struct Money {
    cents: i64,
}

impl Money {
    /// $0.00.
    pub const ZERO: Self = Self { cents: 0 };

    /// $0.00.
    #[must_use]
    pub const fn zero() -> Self {
        Self::ZERO
    }

    /// An amount from a count of cents, as carried by events; `None` if negative.
    #[must_use]
    pub const fn from_cents(cents: i64) -> Option<Self> {
        if cents < 0 {
            None
        } else {
            Some(Self { cents })
        }
    }

    /// The amount in cents, exactly.
    #[must_use]
    pub const fn to_cents(self) -> i64 {
        self.cents
    }

    /// Whether the amount is $0.00.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.cents == 0
    }

    /// Parses a decimal string such as `24.99`, `24.9` or `24` (read as 24.00), trimmed.
    ///
    /// # Errors
    /// Under the field `amount`: a sign, an exponent, more than two decimal places, a missing
    /// digit on either side of the point, anything not a digit, or an amount too large.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let fail = || {
            ParseError::new(
                FIELD,
                format!(
                    "could not parse {} as an amount with at most two decimal places, such as `24.99`",
                    quoted(text)
                ),
            )
        };
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let well_formed = all_digits(whole)
            && fraction.is_none_or(|fraction| fraction.len() <= 2 && all_digits(fraction));
        if !well_formed {
            return Err(fail());
        }
        let too_large = || ParseError::new(FIELD, "is too large");
        let dollars: i64 = whole.parse().map_err(|_| too_large())?;
        // "24.9" means 90 cents, not 9.
        let cents_part = match fraction.map(str::as_bytes) {
            None => 0,
            Some([tenths]) => i64::from(tenths - b'0') * 10,
            Some([tenths, hundredths]) => {
                i64::from(tenths - b'0') * 10 + i64::from(hundredths - b'0')
            }
            Some(_) => return Err(fail()),
        };
        dollars
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents_part))
            .map(|cents| Self { cents })
            .ok_or_else(too_large)
    }

    /// The amount as a decimal with scale 2, e.g. for a `NUMERIC(12,2)` column.
    #[must_use]
    pub fn to_decimal(self) -> BigDecimal {
        BigDecimal::new(BigInt::from(self.cents), 2)
    }

    /// An amount from a decimal, e.g. read from a `NUMERIC` column.
    ///
    /// # Errors
    /// When the decimal is negative, is not a whole number of cents (`1.005`; trailing zeros
    /// such as `1.500` are fine) or does not fit.
    pub fn from_decimal(value: &BigDecimal) -> Result<Self, ParseError> {
        if value.is_negative() {
            return Err(ParseError::new(FIELD, "must not be negative"));
        }
        let cents = value.with_scale(2);
        if &cents != value {
            return Err(ParseError::new(FIELD, "must be a whole number of cents"));
        }
        let (digits, _) = cents.as_bigint_and_exponent();
        digits
            .to_i64()
            .map(|cents| Self { cents })
            .ok_or_else(|| ParseError::new(FIELD, "is too large"))
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.cents.checked_add(other.cents) {
            Some(cents) => Some(Self { cents }),
            None => None,
        }
    }

    /// `self - other`, or `None` if that would be negative.
    #[must_use]
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        if other.cents > self.cents {
            None
        } else {
            Some(Self {
                cents: self.cents - other.cents,
            })
        }
    }

    /// `self - other`, floored at $0.00: a discount can use up a total but not go past it.
    #[must_use]
    pub const fn saturating_sub(self, other: Self) -> Self {
        match self.checked_sub(other) {
            Some(difference) => difference,
            None => Self::ZERO,
        }
    }

    /// `self × quantity`, or `None` on overflow.
    #[must_use]
    pub const fn checked_mul(self, quantity: u32) -> Option<Self> {
        match self.cents.checked_mul(quantity as i64) {
            Some(cents) => Some(Self { cents }),
            None => None,
        }
    }

    /// `rate` percent of this amount (`percent(8.25)` is 8.25 %), rounded to the cent with
    /// ties away from zero ("half up", as tax tables do): 8.25 % of $10.10 is $0.833… → $0.83,
    /// 10 % of $0.05 is $0.005 → $0.01. The product is computed exactly before the single
    /// rounding, so no error accumulates.
    ///
    /// `None` for a negative rate or a result that does not fit.
    #[must_use]
    pub fn percent(self, rate: &BigDecimal) -> Option<Self> {
        if rate.is_negative() {
            return None;
        }
        let (digits, scale) = (BigDecimal::from(self.cents) * rate).into_bigint_and_exponent();
        // Dividing by 100 by moving the decimal point keeps the value exact.
        let cents = BigDecimal::new(digits, scale + 2).with_scale_round(0, RoundingMode::HalfUp);
        cents.to_i64().and_then(Self::from_cents)
    }
}

impl fmt::Display for Money {
    /// Two decimal places, no currency sign, no grouping: `1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl FromStr for Money {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl Add for Money {
    type Output = Self;

    /// # Panics
    /// On overflow; see the type's documentation.
    fn add(self, other: Self) -> Self {
        match self.checked_add(other) {
            Some(sum) => sum,
            None => panic!("money overflow: {self} + {other}"),
        }
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl Mul<u32> for Money {
    type Output = Self;

    /// # Panics
    /// On overflow; see the type's documentation.
    fn mul(self, quantity: u32) -> Self {
        match self.checked_mul(quantity) {
            Some(product) => product,
            None => panic!("money overflow: {self} × {quantity}"),
        }
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Only from a string: a JSON number such as `24.99` has already passed through a binary
    /// float in many clients, and accepting it would invite exactly the errors this type
    /// exists to prevent.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MoneyVisitor;

        impl Visitor<'_> for MoneyVisitor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a decimal string with at most two decimal places, such as "24.99""#)
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Money, E> {
                Money::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(MoneyVisitor)
    }
}

/// For the guide's requests, which send money as a JSON number (`"subtotal": 100`,
/// `"amount": 24.99`): a number or the API's decimal string, either with at most two decimal
/// places, as `#[serde(deserialize_with = "domain::money::number_or_string")]` and
/// `#[schema(schema_with = domain::money::number_or_string_schema)]`. A number is read back
/// from its shortest decimal spelling (`24.99`, never `24.989999...`), so a client's float that
/// is not a whole number of cents (`0.1 + 0.2`) is refused, not rounded.
///
/// # Errors
/// When the value is neither, or not a non-negative amount with at most two places.
pub fn number_or_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Money, D::Error> {
    struct Lenient;

    impl Visitor<'_> for Lenient {
        type Value = Money;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "an amount of dollars with at most two decimal places, as a number or a string",
            )
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Money, E> {
            Money::parse(value).map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Money, E> {
            Money::parse(&value.to_string()).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Money, E> {
            Money::parse(&value.to_string()).map_err(E::custom)
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Money, E> {
            if !value.is_finite() {
                return Err(E::custom("must be a finite number"));
            }
            // `Display` for f64 is the shortest spelling that reads back as the same float.
            Money::parse(&value.to_string()).map_err(E::custom)
        }
    }

    deserializer.deserialize_any(Lenient)
}

/// The schema of [`number_or_string`]: a number with at most two decimal places, or the
/// decimal string.
#[must_use]
pub fn number_or_string_schema() -> Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let number = ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0))
        .description(Some(
            "Dollars as a JSON number, at most two decimal places (the guide's form).",
        ));
    let text = match string_schema(
        "Dollars as a decimal string with at most two places.",
        "24.99",
        Some(PATTERN),
    ) {
        RefOr::T(schema) => schema,
        RefOr::Ref(_) => Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()),
    };
    OneOfBuilder::new()
        .item(number)
        .item(text)
        .description(Some(
            "US dollars, as a number or a decimal string, at most two decimal places.",
        ))
        .into()
}

impl utoipa::PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "US dollars as a decimal string with two places; input may omit the places.",
            "24.99",
            Some(PATTERN),
        )
    }
}

impl utoipa::ToSchema for Money {}

impl ToSql<Numeric, Pg> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <BigDecimal as ToSql<Numeric, Pg>>::to_sql(&self.to_decimal(), &mut out.reborrow())
    }
}

impl FromSql<Numeric, Pg> for Money {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let decimal = <BigDecimal as FromSql<Numeric, Pg>>::from_sql(value)?;
        Ok(Self::from_decimal(&decimal)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Guide {
        #[serde(deserialize_with = "number_or_string")]
        amount: Money,
    }

    fn guide(json: &str) -> Result<Money, serde_json::Error> {
        serde_json::from_str::<Guide>(json).map(|g| g.amount)
    }

    #[test]
    fn the_guides_numbers_and_our_strings_are_both_amounts() {
        assert_eq!(guide(r#"{"amount": 100}"#).unwrap().to_cents(), 10_000);
        assert_eq!(guide(r#"{"amount": 24.99}"#).unwrap().to_cents(), 2_499);
        assert_eq!(guide(r#"{"amount": 45.5}"#).unwrap().to_cents(), 4_550);
        assert_eq!(guide(r#"{"amount": "24.99"}"#).unwrap().to_cents(), 2_499);
        assert_eq!(guide(r#"{"amount": 0}"#).unwrap().to_cents(), 0);
    }

    #[test]
    fn a_number_that_is_not_whole_cents_or_not_an_amount_is_refused() {
        for bad in [
            r#"{"amount": 0.30000000000000004}"#,
            r#"{"amount": 1.005}"#,
            r#"{"amount": -5}"#,
            r#"{"amount": -0.5}"#,
            r#"{"amount": true}"#,
            r#"{"amount": null}"#,
            r#"{"amount": "1e3"}"#,
        ] {
            assert!(guide(bad).is_err(), "{bad}");
        }
    }

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn decimal(text: &str) -> BigDecimal {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises_to_two_places() {
        assert_eq!(money("24.99").to_cents(), 2499);
        assert_eq!(money("24").to_string(), "24.00");
        assert_eq!(money("24.9").to_cents(), 2490);
        assert_eq!(money("0.05").to_string(), "0.05");
        assert_eq!(money(" 7.10 ").to_string(), "7.10");
        assert_eq!(money("007.10").to_string(), "7.10");
    }

    #[test]
    fn rejects_malformed_amounts() {
        for bad in [
            "24.999", "-1", "+1", "abc", "NaN", "inf", "", ".5", "5.", "1e3", "1,000.00", "2 4",
            "24.9.9", "٣",
        ] {
            let error = Money::parse(bad).unwrap_err();
            assert_eq!(error.field(), Some("amount"), "{bad}");
            assert!(
                error.to_string().contains("at most two decimal places"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn rejects_amounts_beyond_i64_cents() {
        assert_eq!(
            Money::parse("92233720368547758.07").unwrap().to_cents(),
            i64::MAX
        );
        assert_eq!(
            Money::parse("92233720368547758.08").unwrap_err().messages(),
            ["is too large"]
        );
        assert_eq!(
            Money::parse("99999999999999999999").unwrap_err().messages(),
            ["is too large"]
        );
    }

    #[test]
    fn cents_round_trip_and_refuse_negatives() {
        assert_eq!(Money::from_cents(1).unwrap().to_string(), "0.01");
        assert_eq!(Money::from_cents(0), Some(Money::zero()));
        assert_eq!(Money::from_cents(-1), None);
        assert_eq!(Money::from_cents(123_456).unwrap().to_cents(), 123_456);
    }

    #[test]
    fn arithmetic_is_exact() {
        // 0.1 + 0.2 is the classic float failure.
        assert_eq!(money("0.10") + money("0.20"), money("0.30"));
        assert_eq!(money("24.99") * 3, money("74.97"));
        assert_eq!(money("24.99").checked_mul(0), Some(Money::ZERO));
        let mut total = money("1.00");
        total += money("0.99");
        assert_eq!(total, money("1.99"));
        let lines = [money("1.10"), money("2.20"), money("3.30")];
        assert_eq!(lines.iter().sum::<Money>(), money("6.60"));
        assert_eq!(Vec::<Money>::new().into_iter().sum::<Money>(), Money::ZERO);
    }

    #[test]
    fn subtraction_never_goes_negative() {
        assert_eq!(
            money("5.00").checked_sub(money("4.99")),
            Some(money("0.01"))
        );
        assert_eq!(money("5.00").checked_sub(money("5.00")), Some(Money::ZERO));
        assert_eq!(money("5.00").checked_sub(money("5.01")), None);
        assert_eq!(money("5.00").saturating_sub(money("7.00")), Money::ZERO);
        assert_eq!(money("5.00").saturating_sub(money("2.50")), money("2.50"));
    }

    #[test]
    fn checked_operations_report_overflow() {
        let max = Money::from_cents(i64::MAX).unwrap();
        assert_eq!(max.checked_add(money("0.01")), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(max.checked_mul(1), Some(max));
    }

    #[test]
    #[should_panic(expected = "money overflow")]
    fn add_operator_panics_on_overflow() {
        let _ = Money::from_cents(i64::MAX).unwrap() + money("0.01");
    }

    #[test]
    fn percent_rounds_half_up_to_the_cent() {
        assert_eq!(
            money("10.10").percent(&decimal("8.25")),
            Some(money("0.83"))
        );
        assert_eq!(money("0.05").percent(&decimal("10")), Some(money("0.01")));
        assert_eq!(money("0.04").percent(&decimal("10")), Some(money("0.00")));
        assert_eq!(
            money("100.00").percent(&decimal("8.25")),
            Some(money("8.25"))
        );
        // 15% of 24.99 is 374.85 cents; 6.25% of 0.40 is exactly half a cent, a tie.
        assert_eq!(money("24.99").percent(&decimal("15")), Some(money("3.75")));
        assert_eq!(money("0.40").percent(&decimal("6.25")), Some(money("0.03")));
        assert_eq!(money("19.99").percent(&decimal("0")), Some(Money::ZERO));
        assert_eq!(
            money("19.99").percent(&decimal("100")),
            Some(money("19.99"))
        );
    }

    #[test]
    fn percent_refuses_negative_rates() {
        assert_eq!(money("10.00").percent(&decimal("-1")), None);
    }

    #[test]
    fn decimal_conversion_is_exact_both_ways() {
        assert_eq!(money("24.99").to_decimal(), decimal("24.99"));
        assert_eq!(money("24").to_decimal().to_string(), "24.00");
        assert_eq!(Money::from_decimal(&decimal("24.990")), Ok(money("24.99")));
        assert_eq!(Money::from_decimal(&decimal("24")), Ok(money("24.00")));
        assert_eq!(
            Money::from_decimal(&decimal("1.005"))
                .unwrap_err()
                .messages(),
            ["must be a whole number of cents"]
        );
        assert_eq!(
            Money::from_decimal(&decimal("-0.01"))
                .unwrap_err()
                .messages(),
            ["must not be negative"]
        );
        assert_eq!(
            Money::from_decimal(&decimal("1e30"))
                .unwrap_err()
                .messages(),
            ["is too large"]
        );
    }

    #[test]
    fn json_is_a_two_place_string() {
        assert_eq!(serde_json::to_string(&money("24.9")).unwrap(), r#""24.90""#);
        assert_eq!(
            serde_json::from_str::<Money>(r#""24""#).unwrap(),
            money("24.00")
        );
    }

    #[test]
    fn json_refuses_numbers_and_bad_strings() {
        let err = serde_json::from_str::<Money>("24.99").unwrap_err();
        assert!(err.to_string().contains("a decimal string"), "{err}");
        let err = serde_json::from_str::<Money>(r#""24.999""#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("amount: could not parse `24.999`"),
            "{err}"
        );
        assert!(serde_json::from_str::<Money>(r#""-1""#).is_err());
    }

    #[test]
    fn orders_by_amount() {
        assert!(money("9.99") < money("10.00"));
        assert_eq!(
            [money("3"), money("1"), money("2")].iter().max(),
            Some(&money("3"))
        );
    }
}
