//! Product types as orders stores them (snake_case, as the compliance rules name them), and
//! their event form.

use events::v1;

const TYPES: [(v1::ProductType, &str); 10] = [
    (v1::ProductType::Flower, "flower"),
    (v1::ProductType::PreRoll, "pre_roll"),
    (v1::ProductType::Vape, "vape"),
    (v1::ProductType::Concentrate, "concentrate"),
    (v1::ProductType::Edible, "edible"),
    (v1::ProductType::Beverage, "beverage"),
    (v1::ProductType::Tincture, "tincture"),
    (v1::ProductType::Capsule, "capsule"),
    (v1::ProductType::Topical, "topical"),
    (v1::ProductType::Accessory, "accessory"),
];

/// The stored name of an event's product type; `unspecified` is never orderable.
pub fn type_name(value: i32) -> &'static str {
    v1::ProductType::try_from(value)
        .ok()
        .and_then(|t| TYPES.iter().find(|(p, _)| *p == t))
        .map_or("unspecified", |(_, name)| name)
}

pub fn proto_type(name: &str) -> v1::ProductType {
    TYPES
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(v1::ProductType::Unspecified, |(p, _)| *p)
}

/// The compliance rules' type, if the stored name is a known one.
pub fn compliance_type(name: &str) -> Option<compliance::ProductType> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_is_known_to_the_rules() {
        for (proto, name) in TYPES {
            assert_eq!(type_name(proto as i32), name);
            assert_eq!(proto_type(name), proto);
            assert!(compliance_type(name).is_some(), "{name}");
        }
        assert_eq!(type_name(0), "unspecified");
        assert_eq!(type_name(99), "unspecified");
        assert!(compliance_type("unspecified").is_none());
    }
}
