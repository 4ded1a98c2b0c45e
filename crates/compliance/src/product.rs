//! The product types the rules know, and which of them are cannabis.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a product is, as far as the rules care: limits map product types to a limit and
/// taxes tell cannabis from everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    Flower,
    PreRoll,
    Vape,
    Concentrate,
    Edible,
    Beverage,
    Tincture,
    Capsule,
    Topical,
    Accessory,
}

impl ProductType {
    /// Every product type, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Flower,
        Self::PreRoll,
        Self::Vape,
        Self::Concentrate,
        Self::Edible,
        Self::Beverage,
        Self::Tincture,
        Self::Capsule,
        Self::Topical,
        Self::Accessory,
    ];

    /// Everything but accessories: cannabis-only taxes (excise) apply to these.
    #[must_use]
    pub const fn is_cannabis(self) -> bool {
        !matches!(self, Self::Accessory)
    }

    /// The name used in rules files and APIs, e.g. `pre_roll`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Flower => "flower",
            Self::PreRoll => "pre_roll",
            Self::Vape => "vape",
            Self::Concentrate => "concentrate",
            Self::Edible => "edible",
            Self::Beverage => "beverage",
            Self::Tincture => "tincture",
            Self::Capsule => "capsule",
            Self::Topical => "topical",
            Self::Accessory => "accessory",
        }
    }
}

impl fmt::Display for ProductType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`ProductType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown product type {0:?} (expected one of flower, pre_roll, vape, concentrate, edible, beverage, tincture, capsule, topical, accessory)"
)]
pub struct UnknownProductType(pub String);

impl FromStr for ProductType {
    type Err = UnknownProductType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownProductType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accessories_are_not_cannabis() {
        let not_cannabis: Vec<_> = ProductType::ALL
            .into_iter()
            .filter(|t| !t.is_cannabis())
            .collect();
        assert_eq!(not_cannabis, [ProductType::Accessory]);
    }

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for t in ProductType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(t.as_str().parse::<ProductType>().unwrap(), t);
        }
        assert!("preroll".parse::<ProductType>().is_err());
    }
}
