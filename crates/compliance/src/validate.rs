//! Checks a jurisdiction must pass on load, beyond what its types already refuse: a rules
//! file is edited by hand, and a mistake should stop the service at start, not surface as a
//! wrong tax at checkout.

use crate::jurisdiction::Jurisdiction;
use crate::rules::RulesError;
use crate::tax::TaxRule;
use geo::{Area, ServiceArea};
use std::collections::HashSet;

pub(crate) fn validate(j: &Jurisdiction) -> Result<(), RulesError> {
    let check = Check { code: &j.code };
    check.ensure(!j.code.trim().is_empty(), "code", || {
        "must not be empty".into()
    })?;
    check.ensure(!j.name.trim().is_empty(), "name", || {
        "must not be empty".into()
    })?;
    check.ensure(!j.sources.is_empty(), "sources", || {
        "name at least one source for the figures".into()
    })?;
    check.ensure(j.minimum_age > 0, "minimumAge", || {
        format!("must be positive, got {}", j.minimum_age)
    })?;

    let license = &j.license;
    check.ensure(
        !license.license_number.trim().is_empty(),
        "license.licenseNumber",
        || "must not be empty".into(),
    )?;
    check.ensure(
        license.issued_on <= license.expires_on,
        "license.expiresOn",
        || {
            format!(
                "{} is before issuedOn {}",
                license.expires_on, license.issued_on
            )
        },
    )?;

    let mut area_ids = HashSet::new();
    for area in &j.service_areas {
        let field = format!("serviceAreas[{}]", area.id);
        check.ensure(area_ids.insert(&area.id), &field, || {
            "the id appears twice".into()
        })?;
        check_area(&check, &field, area)?;
    }

    let mut limit_ids = HashSet::new();
    for limit in &j.purchase_limits {
        let field = format!("purchaseLimits[{}]", limit.id);
        check.ensure(limit_ids.insert(&limit.id), &field, || {
            "the id appears twice".into()
        })?;
        check.ensure(limit.max_mg > 0, &format!("{field}.maxMg"), || {
            format!("must be positive, got {}", limit.max_mg)
        })?;
        check.ensure(!limit.counts.is_empty(), &format!("{field}.counts"), || {
            "name at least one product type to count".into()
        })?;
        let mut counted = HashSet::new();
        for (i, count) in limit.counts.iter().enumerate() {
            let field = format!("{field}.counts[{i}].productTypes");
            check.ensure(!count.product_types.is_empty(), &field, || {
                "must not be empty".into()
            })?;
            for t in &count.product_types {
                // Counting one product twice would double its weight against the limit.
                check.ensure(counted.insert(*t), &field, || {
                    format!("{t} is counted more than once in this limit")
                })?;
            }
        }
    }

    check_taxes(&check, "taxes", &j.taxes, &[])?;
    let mut cities: Vec<String> = Vec::new();
    for (city, rules) in &j.local_taxes {
        let field = format!("localTaxes[{city}]");
        let key = city.trim().to_lowercase();
        check.ensure(!key.is_empty(), &field, || {
            "the city name must not be empty".into()
        })?;
        check.ensure(!cities.contains(&key), &field, || {
            "the city appears twice (names are matched ignoring case)".into()
        })?;
        cities.push(key);
        check_taxes(&check, &field, rules, &j.taxes)?;
    }

    let fee = &j.delivery_fee;
    check.ensure(!fee.bands.is_empty(), "deliveryFee.bands", || {
        "at least one band is needed, or nothing is deliverable".into()
    })?;
    let mut previous: Option<f64> = None;
    for (i, band) in fee.bands.iter().enumerate() {
        let field = format!("deliveryFee.bands[{i}]");
        let miles = band.up_to_miles;
        check.ensure(
            miles.is_finite() && miles > 0.0,
            &format!("{field}.upToMiles"),
            || format!("must be a positive number of miles, got {miles}"),
        )?;
        if let Some(before) = previous {
            check.ensure(miles > before, &format!("{field}.upToMiles"), || {
                format!("must be greater than the band before ({before}), got {miles}")
            })?;
        }
        previous = Some(miles);
        check.ensure(band.fee_cents >= 0, &format!("{field}.feeCents"), || {
            format!("must not be negative, got {}", band.fee_cents)
        })?;
    }
    if let Some(free_from) = fee.free_from_cents {
        check.ensure(free_from >= 0, "deliveryFee.freeFromCents", || {
            format!("must not be negative, got {free_from}")
        })?;
    }
    check.ensure(j.minimum_order_cents >= 0, "minimumOrderCents", || {
        format!("must not be negative, got {}", j.minimum_order_cents)
    })?;
    if let Some(cap) = j.vehicle_cap_cents {
        check.ensure(cap > 0, "vehicleCapCents", || {
            format!("must be positive, got {cap}")
        })?;
    }
    Ok(())
}

struct Check<'a> {
    code: &'a str,
}

impl Check<'_> {
    fn ensure(
        &self,
        ok: bool,
        field: &str,
        reason: impl FnOnce() -> String,
    ) -> Result<(), RulesError> {
        if ok {
            Ok(())
        } else {
            Err(RulesError::Invalid {
                jurisdiction: self.code.to_owned(),
                field: field.to_owned(),
                reason: reason(),
            })
        }
    }
}

fn check_area(check: &Check<'_>, field: &str, area: &ServiceArea) -> Result<(), RulesError> {
    match &area.area {
        Area::Circle { radius_miles, .. } => {
            let r = *radius_miles;
            check.ensure(r.is_finite() && r > 0.0, field, || {
                format!("the radius must be positive, got {r}")
            })
        }
        Area::Polygon { vertices } => check.ensure(vertices.len() >= 3, field, || {
            format!(
                "a polygon needs at least 3 vertices, got {}",
                vertices.len()
            )
        }),
    }
}

/// `outer`: taxes already applying alongside these (the jurisdiction's, for a city's list),
/// whose ids must not repeat, so each line of a breakdown names one tax.
fn check_taxes(
    check: &Check<'_>,
    prefix: &str,
    rules: &[TaxRule],
    outer: &[TaxRule],
) -> Result<(), RulesError> {
    let mut ids: HashSet<&str> = outer.iter().map(|r| r.id.as_str()).collect();
    for rule in rules {
        let field = format!("{prefix}[{}]", rule.id);
        check.ensure(ids.insert(rule.id.as_str()), &field, || {
            "the id appears twice".into()
        })?;
        check.ensure(!rule.rates.is_empty(), &format!("{field}.rates"), || {
            "at least one rate is needed".into()
        })?;
        for (i, rate) in rule.rates.iter().enumerate() {
            if let (Some(from), Some(until)) = (rate.from, rate.until) {
                check.ensure(from <= until, &format!("{field}.rates[{i}]"), || {
                    format!("until {until} is before from {from}")
                })?;
            }
            for (k, other) in rule.rates.iter().enumerate().skip(i + 1) {
                // Both ends inclusive, missing ends open.
                let overlap = rate.from.is_none_or(|f| other.until.is_none_or(|u| f <= u))
                    && other.from.is_none_or(|f| rate.until.is_none_or(|u| f <= u));
                check.ensure(!overlap, &format!("{field}.rates"), || {
                    format!(
                        "rates[{i}] and rates[{k}] overlap, so the rate on some days is ambiguous"
                    )
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Rules;

    const CA_JSON: &str = include_str!("../data/jurisdictions/ca.json");

    fn refusal(from: &str, to: &str) -> String {
        assert!(CA_JSON.contains(from), "{from}");
        Rules::from_json(&CA_JSON.replacen(from, to, 1))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn overlapping_or_reversed_rate_periods_are_refused() {
        assert_eq!(
            refusal("\"from\": \"2025-07-01\"", "\"from\": \"2025-06-30\""),
            "jurisdiction CA: taxes[ca_cannabis_excise].rates: rates[0] and rates[1] overlap, so the rate on some days is ambiguous"
        );
        assert_eq!(
            refusal("\"until\": \"2025-09-30\"", "\"until\": \"2025-06-01\""),
            "jurisdiction CA: taxes[ca_cannabis_excise].rates[1]: until 2025-06-01 is before from 2025-07-01"
        );
    }

    #[test]
    fn a_product_counted_twice_in_one_limit_is_refused() {
        assert_eq!(
            refusal("\"edible\",", "\"edible\", \"vape\","),
            "jurisdiction CA: purchaseLimits[concentrate].counts[1].productTypes: vape is counted more than once in this limit"
        );
    }

    #[test]
    fn a_rules_file_must_name_its_sources() {
        let start = CA_JSON.find("\"sources\"").unwrap();
        let end = start + CA_JSON[start..].find(']').unwrap() + 1;
        let json = format!("{}\"sources\": []{}", &CA_JSON[..start], &CA_JSON[end..]);
        assert_eq!(
            Rules::from_json(&json).unwrap_err().to_string(),
            "jurisdiction CA: sources: name at least one source for the figures"
        );
    }
}
