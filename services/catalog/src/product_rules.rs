//! Products as the catalog sells them: their kinds, potency and the rules an admin's input
//! must follow before it becomes a row. Plain functions and types (no I/O), unit-tested here;
//! the changes themselves are [`crate::products`]'.

use bigdecimal::BigDecimal;
use domain::Money;
use domain::input::{ParseError, Validation};
use serde::Deserialize;
use std::str::FromStr;
use utoipa::ToSchema;

domain::string_enum! {
    /// What kind of product (drives purchase limits in orders).
    pub enum ProductType (field = "productType") {
        Flower => "flower",
        PreRoll => "pre_roll",
        Vape => "vape",
        Concentrate => "concentrate",
        Edible => "edible",
        Tincture => "tincture",
        Topical => "topical",
        Accessory => "accessory",
    }
}

impl ProductType {
    /// Parses a client's value, refusing with the message the API has always given.
    pub fn from_input(value: &str) -> Result<Self, ParseError> {
        value.parse().map_err(|_| {
            ParseError::unnamed(
                "must be one of flower, pre_roll, vape, concentrate, edible, tincture, topical, accessory",
            )
        })
    }

    /// Whether the product is sold by cannabis weight (and so needs a net weight).
    pub const fn sold_by_weight(self) -> bool {
        matches!(
            self,
            Self::Flower | Self::PreRoll | Self::Vape | Self::Concentrate
        )
    }

    /// Whether the product is limited by THC milligrams (and so needs them per package).
    pub const fn limited_by_thc_mg(self) -> bool {
        matches!(self, Self::Edible | Self::Tincture | Self::Topical)
    }

    pub const fn to_proto(self) -> events::v1::ProductType {
        use events::v1::ProductType as P;
        match self {
            Self::Flower => P::Flower,
            Self::PreRoll => P::PreRoll,
            Self::Vape => P::Vape,
            Self::Concentrate => P::Concentrate,
            Self::Edible => P::Edible,
            Self::Tincture => P::Tincture,
            Self::Topical => P::Topical,
            Self::Accessory => P::Accessory,
        }
    }
}

domain::string_enum! {
    /// The strain family of a cannabis product.
    pub enum StrainType (field = "strainType") {
        Sativa => "sativa",
        Indica => "indica",
        Hybrid => "hybrid",
    }
}

impl StrainType {
    /// Parses a client's value, refusing with the message the API has always given.
    pub fn from_input(value: &str) -> Result<Self, ParseError> {
        value
            .parse()
            .map_err(|_| ParseError::unnamed("must be sativa, indica or hybrid"))
    }
}

domain::string_enum! {
    /// How a cannabinoid amount is expressed: share of dry weight, or milligrams per package.
    pub enum PotencyUnit (field = "unit") {
        Percent => "percent",
        Mg => "mg",
    }
}

impl PotencyUnit {
    /// Parses a client's unit; `%` is taken for `percent`.
    pub fn from_input(value: &str) -> Result<Self, ParseError> {
        match value {
            "%" => Ok(Self::Percent),
            other => other
                .parse()
                .map_err(|_| ParseError::unnamed("unit must be percent or mg")),
        }
    }
}

/// THC or CBD content: a number with its unit (the guide's "24%" strings, parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Potency {
    pub value: BigDecimal,
    pub unit: PotencyUnit,
}

/// A potency as clients send it: `{"value": 24.5, "unit": "percent"}` or the guide's string
/// form `"24.5%"` / `"10mg"`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PotencyInput {
    Text(String),
    Parts {
        #[schema(value_type = f64)]
        value: serde_json::Number,
        unit: String,
    },
}

impl Potency {
    pub fn parse(input: &PotencyInput) -> Result<Self, ParseError> {
        let (value, unit) = match input {
            PotencyInput::Text(text) => {
                let text = text.trim();
                let (number, unit) = if let Some(number) = text.strip_suffix('%') {
                    (number, PotencyUnit::Percent)
                } else if let Some(number) = text.strip_suffix("mg") {
                    (number, PotencyUnit::Mg)
                } else {
                    return Err(ParseError::unnamed(
                        "must be like \"24.5%\" or \"10mg\", or {value, unit}",
                    ));
                };
                (number.trim().to_owned(), unit)
            }
            PotencyInput::Parts { value, unit } => {
                (value.to_string(), PotencyUnit::from_input(unit)?)
            }
        };
        let value =
            BigDecimal::from_str(&value).map_err(|_| ParseError::unnamed("must be a number"))?;
        let limit = match unit {
            PotencyUnit::Percent => BigDecimal::from(100),
            PotencyUnit::Mg => BigDecimal::from(100_000),
        };
        if value < 0 || value > limit {
            return Err(ParseError::unnamed(match unit {
                PotencyUnit::Percent => "must be between 0 and 100 percent",
                PotencyUnit::Mg => "must be between 0 and 100000 mg",
            }));
        }
        Ok(Self {
            value: value.round(2),
            unit,
        })
    }

    /// The guide's display form, e.g. `24.5%` or `10mg`.
    pub fn display(&self) -> String {
        let value = self.value.normalized();
        match self.unit {
            PotencyUnit::Percent => format!("{value}%"),
            PotencyUnit::Mg => format!("{value}mg"),
        }
    }
}

/// A positive decimal with at most 3 places (grams, milligrams).
pub fn parse_amount(text: &serde_json::Number, max: u32) -> Result<BigDecimal, ParseError> {
    let value = BigDecimal::from_str(&text.to_string())
        .map_err(|_| ParseError::unnamed("must be a number"))?;
    if value <= 0 || value > max {
        return Err(ParseError::unnamed(format!(
            "must be above 0 and at most {max}"
        )));
    }
    Ok(value.round(3))
}

/// Effects: short lowercase words, at most 10, no duplicates.
pub fn parse_effects(input: &[String]) -> Result<Vec<String>, ParseError> {
    if input.len() > 10 {
        return Err(ParseError::unnamed("at most 10 effects"));
    }
    let mut effects: Vec<String> = Vec::with_capacity(input.len());
    for effect in input {
        let effect = effect.trim().to_lowercase();
        if effect.is_empty() || effect.len() > 30 {
            return Err(ParseError::unnamed(
                "each effect must be 1 to 30 characters",
            ));
        }
        if !effects.contains(&effect) {
            effects.push(effect);
        }
    }
    Ok(effects)
}

/// A URL clients may follow: http(s) only, at most 500 characters.
pub fn parse_url(input: &str) -> Result<String, ParseError> {
    let input = input.trim();
    let scheme_ok = input.starts_with("https://") || input.starts_with("http://");
    if !scheme_ok || input.len() > 500 || input.chars().any(char::is_whitespace) {
        return Err(ParseError::unnamed(
            "must be an http(s) URL of at most 500 characters",
        ));
    }
    Ok(input.to_owned())
}

/// A slug: lowercase letters, digits and single dashes.
pub fn parse_slug(input: &str) -> Result<String, ParseError> {
    let valid = !input.is_empty()
        && input.len() <= 100
        && !input.starts_with('-')
        && !input.ends_with('-')
        && !input.contains("--")
        && input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(input.to_owned())
    } else {
        Err(ParseError::unnamed(
            "must be lowercase letters, digits and single dashes (at most 100)",
        ))
    }
}

/// A slug made from a name: "Blue Dream 3.5g" → "blue-dream-3-5g".
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(100).collect()
}

/// Money given as a decimal string ("24.99") that must be above zero.
pub fn parse_price(input: &str) -> Result<Money, ParseError> {
    let money = Money::parse(input)?;
    if money.is_zero() {
        return Err(ParseError::unnamed("must be more than 0.00"));
    }
    Ok(money)
}

/// Rules that tie fields together, checked once every field parsed.
pub fn check_consistency(
    v: &mut Validation,
    product_type: ProductType,
    net_weight: Option<&BigDecimal>,
    thc_mg: Option<&BigDecimal>,
    price: Option<Money>,
    original_price: Option<Money>,
) {
    if product_type.sold_by_weight() && net_weight.is_none() {
        v.add(
            "netWeightGrams",
            format!("is required for {}", product_type.as_str()),
        );
    }
    if product_type.limited_by_thc_mg() && thc_mg.is_none() {
        v.add(
            "thcMgPerPackage",
            format!("is required for {}", product_type.as_str()),
        );
    }
    if let (Some(price), Some(original)) = (price, original_price)
        && original <= price
    {
        v.add(
            "originalPrice",
            "must be more than price (it is the price before a sale)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn potency_strings_from_the_guide_parse() {
        let thc = Potency::parse(&PotencyInput::Text("24%".into())).unwrap();
        assert_eq!(thc.unit, PotencyUnit::Percent);
        assert_eq!(thc.display(), "24%");
        let mg = Potency::parse(&PotencyInput::Text("10 mg".into())).unwrap();
        assert_eq!((mg.unit, mg.display().as_str()), (PotencyUnit::Mg, "10mg"));
        assert!(Potency::parse(&PotencyInput::Text("24".into())).is_err());
        assert!(Potency::parse(&PotencyInput::Text("124%".into())).is_err());
        assert!(Potency::parse(&PotencyInput::Text("-1%".into())).is_err());
    }

    #[test]
    fn potency_parts_parse() {
        let parts = PotencyInput::Parts {
            value: serde_json::Number::from_f64(24.5).unwrap(),
            unit: "percent".into(),
        };
        assert_eq!(Potency::parse(&parts).unwrap().display(), "24.5%");
        let bad = PotencyInput::Parts {
            value: serde_json::Number::from(5),
            unit: "grams".into(),
        };
        assert!(Potency::parse(&bad).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Blue Dream 3.5g"), "blue-dream-3-5g");
        assert_eq!(slugify("  OG Kush!! "), "og-kush");
        assert!(parse_slug("blue-dream").is_ok());
        assert!(parse_slug("Blue").is_err());
        assert!(parse_slug("a--b").is_err());
        assert!(parse_slug("-a").is_err());
    }

    #[test]
    fn effects_are_normalised_and_bounded() {
        let effects = parse_effects(&["Relaxed".into(), "relaxed".into(), " Happy ".into()]);
        assert_eq!(effects.unwrap(), ["relaxed", "happy"]);
        assert!(parse_effects(&[String::new()]).is_err());
        assert!(parse_effects(&vec!["a".to_owned(); 11]).is_err());
    }

    #[test]
    fn weight_and_thc_rules_depend_on_the_type() {
        let mut v = Validation::new();
        check_consistency(&mut v, ProductType::Flower, None, None, None, None);
        check_consistency(&mut v, ProductType::Edible, None, None, None, None);
        check_consistency(&mut v, ProductType::Accessory, None, None, None, None);
        let fields: Vec<_> = v.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["netWeightGrams", "thcMgPerPackage"]);
    }

    #[test]
    fn a_sale_price_must_be_below_the_original() {
        let mut v = Validation::new();
        let price = Money::from_cents(4500);
        check_consistency(&mut v, ProductType::Accessory, None, None, price, price);
        assert!(!v.is_valid());
        let mut v = Validation::new();
        check_consistency(
            &mut v,
            ProductType::Accessory,
            None,
            None,
            price,
            Money::from_cents(5000),
        );
        assert!(v.is_valid());
    }

    #[test]
    fn urls_and_prices() {
        assert!(parse_url("https://labs.example/coa.pdf").is_ok());
        assert!(parse_url("javascript:alert(1)").is_err());
        assert!(parse_price("0.00").is_err());
        assert_eq!(parse_price("24.99").unwrap().to_cents(), 2499);
    }
}
