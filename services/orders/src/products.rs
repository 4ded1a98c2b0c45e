//! Product types as orders stores them (snake_case, as the compliance rules name them), and
//! their event form.

use events::v1;

domain::string_enum! {
    /// A product's type as catalog announces it. `unspecified` (an unknown type, or a deleted
    /// product's tombstone) is never orderable.
    pub enum ProductType (field = "productType") {
        Flower => "flower",
        PreRoll => "pre_roll",
        Vape => "vape",
        Concentrate => "concentrate",
        Edible => "edible",
        Beverage => "beverage",
        Tincture => "tincture",
        Capsule => "capsule",
        Topical => "topical",
        Accessory => "accessory",
        Unspecified => "unspecified",
    }
}

impl ProductType {
    /// The type of an event's `product_type`.
    pub fn from_proto(value: i32) -> Self {
        match v1::ProductType::try_from(value) {
            Ok(v1::ProductType::Flower) => Self::Flower,
            Ok(v1::ProductType::PreRoll) => Self::PreRoll,
            Ok(v1::ProductType::Vape) => Self::Vape,
            Ok(v1::ProductType::Concentrate) => Self::Concentrate,
            Ok(v1::ProductType::Edible) => Self::Edible,
            Ok(v1::ProductType::Beverage) => Self::Beverage,
            Ok(v1::ProductType::Tincture) => Self::Tincture,
            Ok(v1::ProductType::Capsule) => Self::Capsule,
            Ok(v1::ProductType::Topical) => Self::Topical,
            Ok(v1::ProductType::Accessory) => Self::Accessory,
            _ => Self::Unspecified,
        }
    }

    /// The event form.
    pub const fn to_proto(self) -> v1::ProductType {
        match self {
            Self::Flower => v1::ProductType::Flower,
            Self::PreRoll => v1::ProductType::PreRoll,
            Self::Vape => v1::ProductType::Vape,
            Self::Concentrate => v1::ProductType::Concentrate,
            Self::Edible => v1::ProductType::Edible,
            Self::Beverage => v1::ProductType::Beverage,
            Self::Tincture => v1::ProductType::Tincture,
            Self::Capsule => v1::ProductType::Capsule,
            Self::Topical => v1::ProductType::Topical,
            Self::Accessory => v1::ProductType::Accessory,
            Self::Unspecified => v1::ProductType::Unspecified,
        }
    }

    /// The compliance rules' type; `None` for `unspecified`, which the rules do not know.
    pub fn rules(self) -> Option<compliance::ProductType> {
        self.as_str().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_is_known_to_the_rules() {
        for kind in ProductType::ALL {
            assert_eq!(ProductType::from_proto(kind.to_proto() as i32), *kind);
            assert_eq!(
                kind.rules().is_some(),
                *kind != ProductType::Unspecified,
                "{kind}"
            );
        }
        assert_eq!(ProductType::from_proto(0), ProductType::Unspecified);
        assert_eq!(ProductType::from_proto(99), ProductType::Unspecified);
    }
}
