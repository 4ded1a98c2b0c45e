//! The compliance rules' refusals as problem+json answers, each with its own code and the
//! figures a client needs to explain it (COMPLIANCE.md "What every rule needs").

use compliance::{Located, OutsideDeliveryHours, PurchaseLimitExceeded, Rules, UnderMinimumOrder};
use domain::{Code, Money, Problem};
use serde_json::json;

fn money(cents: i64) -> String {
    Money::from_cents(cents).unwrap_or(Money::ZERO).to_string()
}

/// Grams with up to three decimals ("28.5").
pub fn grams(mg: i64) -> String {
    let text = format!("{}.{:03}", mg / 1000, (mg % 1000).abs());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub fn outside_hours(err: OutsideDeliveryHours) -> Problem {
    let facts = serde_json::to_value(&err).unwrap_or_default();
    let mut problem = Problem::new(Code::OutsideDeliveryHours).with_detail(format!(
        "We deliver from {} to {} local time.",
        err.opens.format("%H:%M"),
        err.closes.format("%H:%M")
    ));
    for key in ["opens", "closes", "timeZone", "localTime", "nextOpening"] {
        if let Some(value) = facts.get(key) {
            problem = problem.with_extension(key, value.clone());
        }
    }
    problem
}

pub fn over_limit(err: PurchaseLimitExceeded) -> Problem {
    Problem::new(Code::PurchaseLimitExceeded)
        .with_detail(format!(
            "This order would take you over today's {} limit of {} g: {} g already today, {} g in this order.",
            err.name.to_lowercase(),
            grams(err.max_mg),
            grams(err.already_mg),
            grams(err.adding_mg)
        ))
        .with_extension(
            "limit",
            json!({ "id": err.limit_id, "name": err.name, "maxMg": err.max_mg, "max": format!("{} g", grams(err.max_mg)) }),
        )
        .with_extension("alreadyToday", json!({ "mg": err.already_mg, "text": format!("{} g", grams(err.already_mg)) }))
        .with_extension("thisOrder", json!({ "mg": err.adding_mg, "text": format!("{} g", grams(err.adding_mg)) }))
}

pub fn under_minimum(err: UnderMinimumOrder) -> Problem {
    Problem::new(Code::UnderMinimumOrder)
        .with_detail(format!(
            "The minimum order is ${}; your cart comes to ${}.",
            money(err.minimum_cents),
            money(err.subtotal_cents)
        ))
        .with_extension("minimum", money(err.minimum_cents))
        .with_extension("subtotal", money(err.subtotal_cents))
}

pub fn outside_area(rules: &Rules, point: geo::Point) -> Problem {
    let areas: Vec<_> = rules
        .jurisdictions()
        .iter()
        .flat_map(|j| j.service_areas.iter())
        .map(|a| {
            json!({
                "id": a.id,
                "name": a.name,
                "distanceMiles": a.distance_from_center(point).map(|d| (d * 10.0).round() / 10.0),
            })
        })
        .collect();
    Problem::new(Code::OutsideDeliveryArea)
        .with_detail("This address is outside our delivery areas.")
        .with_extension("serviceAreas", areas)
}

pub fn beyond_fee_bands(located: &Located<'_>) -> Problem {
    Problem::new(Code::OutsideDeliveryArea)
        .with_detail(format!(
            "This address is {:.1} miles from {}, beyond our delivery distance.",
            located.distance_miles, located.area.name
        ))
        .with_extension(
            "distanceMiles",
            (located.distance_miles * 10.0).round() / 10.0,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_are_written_without_trailing_zeros() {
        assert_eq!(grams(28_500), "28.5");
        assert_eq!(grams(8_000), "8");
        assert_eq!(grams(3_543), "3.543");
        assert_eq!(grams(0), "0");
    }
}
