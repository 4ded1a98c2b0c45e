//! Taxes as data: components with dated rates, jurisdiction-wide and by city, computed in
//! exact integer arithmetic.

use crate::jurisdiction::Jurisdiction;
use crate::product::ProductType;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tax rate held exactly, in hundredths of a percent: "6.25" is 625, so a tax is
/// `base × 625 / 10 000`. Written in files as a decimal string, never a JSON number, so no
/// binary rounding gets in between the statute and the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

/// A rate that is not a decimal between 0 and 100 with at most two decimal places.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tax rate {text:?}: {reason}")]
pub struct InvalidPercent {
    pub text: String,
    pub reason: &'static str,
}

impl Percent {
    /// Parses `"6.25"`, `"15"`, `"19.5"`.
    ///
    /// # Errors
    /// [`InvalidPercent`] for a negative rate, more than two decimal places, anything that is
    /// not a plain decimal, or more than 100.
    pub fn parse(text: &str) -> Result<Self, InvalidPercent> {
        let invalid = |reason| InvalidPercent {
            text: text.to_owned(),
            reason,
        };
        if text.starts_with('-') {
            return Err(invalid("rates must not be negative"));
        }
        let (whole, frac) = text.split_once('.').unwrap_or((text, "00"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) {
            return Err(invalid("expected a decimal such as \"6.25\""));
        }
        if frac.len() > 2 {
            return Err(invalid(
                "at most two decimal places (hundredths of a percent)",
            ));
        }
        let whole: u32 = whole.parse().map_err(|_| invalid("more than 100"))?;
        let frac: u32 = format!("{frac:0<2}")
            .parse()
            .map_err(|_| invalid("expected a decimal such as \"6.25\""))?;
        let hundredths = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .filter(|&h| h <= 10_000)
            .ok_or_else(|| invalid("more than 100"))?;
        Ok(Self(hundredths))
    }

    /// Hundredths of a percent (basis points): 6.25 % is 625.
    #[must_use]
    pub const fn basis_points(self) -> u32 {
        self.0
    }

    /// This rate of `base_cents`, rounded half-up to the cent (half away from zero for a
    /// negative base, so a refund mirrors its sale).
    #[must_use]
    pub fn of(self, base_cents: i64) -> i64 {
        let product = i128::from(base_cents) * i128::from(self.0);
        let rounded = (product.abs() + 5_000) / 10_000;
        let signed = if product < 0 { -rounded } else { rounded };
        // The rate is at most 100 %, so only i64::MIN's magnitude can fail to fit.
        i64::try_from(signed).unwrap_or(if signed < 0 { i64::MIN } else { i64::MAX })
    }
}

impl fmt::Display for Percent {
    /// Shortest exact form: 625 → "6.25", 1500 → "15", 1950 → "19.5".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}"),
            _ if frac % 10 == 0 => write!(f, "{whole}.{}", frac / 10),
            _ => write!(f, "{whole}.{frac:02}"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a tax is charged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AppliesTo {
    /// Every line, accessories included (sales taxes).
    All,
    /// Cannabis lines only (excise).
    Cannabis,
}

/// A rate and the days it is in force. Both ends are inclusive; a missing end is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaxRate {
    pub percent: Percent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
}

impl TaxRate {
    #[must_use]
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= day) && self.until.is_none_or(|until| day <= until)
    }
}

/// One tax, e.g. Texas state sales tax, with its rates over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaxRule {
    /// Stable key, e.g. `tx_state_sales`.
    pub id: String,
    pub name: String,
    pub applies_to: AppliesTo,
    /// Periods never overlap (checked on load), so at most one is in force on a day.
    pub rates: Vec<TaxRate>,
}

impl TaxRule {
    /// The rate in force on `day`; `None` when the tax does not apply then.
    #[must_use]
    pub fn rate_on(&self, day: NaiveDate) -> Option<Percent> {
        self.rates
            .iter()
            .find(|r| r.in_force_on(day))
            .map(|r| r.percent)
    }
}

/// A line of an order as taxes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxableLine {
    pub product_type: ProductType,
    /// The line's price after discounts, in cents.
    pub amount_cents: i64,
}

/// One tax charged on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxComponent {
    pub id: String,
    pub name: String,
    /// The rate applied, e.g. "6.25".
    pub percent: String,
    pub base_cents: i64,
    pub amount_cents: i64,
}

/// Every tax charged on an order: jurisdiction-wide components first, then the city's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxBreakdown {
    pub components: Vec<TaxComponent>,
    pub total_cents: i64,
}

impl Jurisdiction {
    /// The city's own taxes (name matched ignoring case and surrounding spaces); empty for a
    /// city the file does not list.
    #[must_use]
    pub fn local_taxes_for(&self, city: &str) -> &[TaxRule] {
        let city = city.trim().to_lowercase();
        self.local_taxes
            .iter()
            .find(|(name, _)| name.trim().to_lowercase() == city)
            .map_or(&[], |(_, rules)| rules.as_slice())
    }

    /// Taxes on `lines` delivered in `city` on the local day `on`. Each component is computed
    /// once on its whole base and rounded once, so a receipt's per-tax figures add up
    /// exactly; taxes are not charged on other taxes. A tax with no rate in force on `on` is
    /// left out.
    #[must_use]
    pub fn taxes(&self, lines: &[TaxableLine], city: &str, on: NaiveDate) -> TaxBreakdown {
        let base_of = |applies_to| {
            lines
                .iter()
                .filter(|l| applies_to == AppliesTo::All || l.product_type.is_cannabis())
                .map(|l| l.amount_cents)
                .fold(0_i64, i64::saturating_add)
        };
        let components: Vec<TaxComponent> = self
            .taxes
            .iter()
            .chain(self.local_taxes_for(city))
            .filter_map(|rule| {
                let percent = rule.rate_on(on)?;
                let base_cents = base_of(rule.applies_to);
                Some(TaxComponent {
                    id: rule.id.clone(),
                    name: rule.name.clone(),
                    percent: percent.to_string(),
                    base_cents,
                    amount_cents: percent.of(base_cents),
                })
            })
            .collect();
        let total_cents = components
            .iter()
            .map(|c| c.amount_cents)
            .fold(0, i64::saturating_add);
        TaxBreakdown {
            components,
            total_cents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn p(text: &str) -> Percent {
        Percent::parse(text).unwrap()
    }

    fn cannabis(cents: i64) -> TaxableLine {
        TaxableLine {
            product_type: ProductType::Flower,
            amount_cents: cents,
        }
    }

    fn accessory(cents: i64) -> TaxableLine {
        TaxableLine {
            product_type: ProductType::Accessory,
            amount_cents: cents,
        }
    }

    fn amounts(b: &TaxBreakdown) -> Vec<(&str, &str, i64, i64)> {
        b.components
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.percent.as_str(),
                    c.base_cents,
                    c.amount_cents,
                )
            })
            .collect()
    }

    #[test]
    fn percentages_parse_to_exact_hundredths() {
        assert_eq!(p("6.25").basis_points(), 625);
        assert_eq!(p("15").basis_points(), 1500);
        assert_eq!(p("19.5").basis_points(), 1950);
        assert_eq!(p("0").basis_points(), 0);
        assert_eq!(p("100").basis_points(), 10_000);
        for (text, shown) in [
            ("6.25", "6.25"),
            ("15.00", "15"),
            ("19.50", "19.5"),
            ("0.05", "0.05"),
        ] {
            assert_eq!(p(text).to_string(), shown);
        }
        for bad in [
            "-1",
            "6.255",
            "abc",
            "",
            ".5",
            "5.",
            "1e2",
            "100.01",
            "99999999999",
            " 6",
        ] {
            assert!(Percent::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Percent::parse("-6.25").unwrap_err().to_string(),
            "invalid tax rate \"-6.25\": rates must not be negative"
        );
    }

    #[test]
    fn rounding_is_half_up_to_the_cent() {
        assert_eq!(p("1").of(50), 1); // 0.5 → 1
        assert_eq!(p("1").of(49), 0); // 0.49 → 0
        assert_eq!(p("6.25").of(8), 1); // 0.5 → 1
        assert_eq!(p("6.25").of(23), 1); // 1.4375 → 1
        assert_eq!(p("6.25").of(24), 2); // 1.5 → 2
        assert_eq!(p("8.25").of(1999), 165); // 164.9175 → 165
        assert_eq!(p("6.25").of(-24), -2);
        assert_eq!(p("100").of(i64::MAX), i64::MAX);
    }

    #[test]
    fn austin_tax_on_cannabis_and_an_accessory() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.get("TX").unwrap();
        // $100.00 of flower and a $20.00 grinder: sales taxes on 12000, excise on 10000.
        let b = tx.taxes(
            &[cannabis(10_000), accessory(2_000)],
            "Austin",
            day(2025, 6, 1),
        );
        assert_eq!(
            amounts(&b),
            [
                ("tx_state_sales", "6.25", 12_000, 750),
                ("tx_cannabis_excise", "15", 10_000, 1_500),
                ("austin_city_sales", "1", 12_000, 120),
                ("austin_capmetro_sales", "1", 12_000, 120),
            ]
        );
        assert_eq!(b.total_cents, 2_490);
        // The city is matched ignoring case; elsewhere only the state's taxes apply.
        assert_eq!(
            tx.taxes(
                &[cannabis(10_000), accessory(2_000)],
                " AUSTIN ",
                day(2025, 6, 1)
            ),
            b
        );
        let elsewhere = tx.taxes(
            &[cannabis(10_000), accessory(2_000)],
            "Lakeway",
            day(2025, 6, 1),
        );
        assert_eq!(elsewhere.total_cents, 2_250);
    }

    #[test]
    fn each_component_is_rounded_once_on_the_whole_base() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.get("TX").unwrap();
        // Three $0.08 lines: 6.25 % of 24 cents is 1.5 → 2, where per-line rounding (0.5 → 1
        // each) would give 3.
        let b = tx.taxes(
            &[cannabis(8), cannabis(8), cannabis(8)],
            "Nowhere",
            day(2025, 6, 1),
        );
        assert_eq!(amounts(&b)[0], ("tx_state_sales", "6.25", 24, 2));
        // 15 % of 24 is 3.6 → 4.
        assert_eq!(amounts(&b)[1], ("tx_cannabis_excise", "15", 24, 4));
        assert_eq!(b.total_cents, 6);
    }

    #[test]
    fn california_excise_follows_its_dated_rates() {
        let rules = Rules::embedded().unwrap();
        let ca = rules.get("CA").unwrap();
        let order = [cannabis(10_000), accessory(2_000)];
        let excise = |on| {
            let b = ca.taxes(&order, "Los Angeles", on);
            b.components
                .into_iter()
                .find(|c| c.id == "ca_cannabis_excise")
                .map(|c| (c.percent, c.base_cents, c.amount_cents))
                .unwrap()
        };
        assert_eq!(excise(day(2025, 6, 30)), ("15".into(), 10_000, 1_500));
        assert_eq!(excise(day(2025, 7, 1)), ("19".into(), 10_000, 1_900));
        assert_eq!(excise(day(2025, 8, 15)), ("19".into(), 10_000, 1_900));
        assert_eq!(excise(day(2025, 9, 30)), ("19".into(), 10_000, 1_900));
        assert_eq!(excise(day(2025, 10, 1)), ("15".into(), 10_000, 1_500));
        // Sales tax at the statewide base rate on everything: 7.25 % of 12000 = 870.
        let b = ca.taxes(&order, "Los Angeles", day(2025, 8, 15));
        assert_eq!(b.total_cents, 1_900 + 870);
    }

    #[test]
    fn a_tax_with_no_rate_in_force_is_left_out() {
        let rule = TaxRule {
            id: "t".into(),
            name: "Temporary".into(),
            applies_to: AppliesTo::All,
            rates: vec![TaxRate {
                percent: p("1"),
                from: Some(day(2025, 1, 1)),
                until: Some(day(2025, 12, 31)),
            }],
        };
        assert_eq!(rule.rate_on(day(2024, 12, 31)), None);
        assert_eq!(rule.rate_on(day(2025, 1, 1)), Some(p("1")));
        assert_eq!(rule.rate_on(day(2025, 12, 31)), Some(p("1")));
        assert_eq!(rule.rate_on(day(2026, 1, 1)), None);
    }
}
