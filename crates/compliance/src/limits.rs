//! Daily purchase limits: which product types count against which limit, and how.

use crate::jurisdiction::Jurisdiction;
use crate::product::ProductType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One daily limit, e.g. California's 8 g of concentrated cannabis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseLimit {
    /// Stable key, e.g. `concentrate`.
    pub id: String,
    pub name: String,
    /// Most a customer may buy in one local day, in milligrams.
    pub max_mg: i64,
    /// Which product types count, and by which measure. One limit may count several ways:
    /// concentrates by net weight and edibles by their THC, against the same total.
    pub counts: Vec<LimitCount>,
}

/// Product types counted against a limit by one measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitCount {
    pub product_types: Vec<ProductType>,
    pub measure: Measure,
}

/// What of a package counts against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Measure {
    /// The package's net weight of cannabis (flower, concentrate).
    NetWeight,
    /// The THC it contains (edibles, beverages: the concentrate inside the product).
    Thc,
}

/// A line of an order (or of one already delivered today) as the limits see it; amounts
/// are per package, so the line counts `quantity` times them. Negative numbers count as zero,
/// so a malformed line can never offset a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitedLine {
    pub product_type: ProductType,
    pub quantity: i64,
    pub net_weight_mg: i64,
    pub thc_mg: i64,
}

/// How much of one limit a customer has used today and what an order would add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitUsage {
    pub limit_id: String,
    pub name: String,
    pub max_mg: i64,
    pub already_mg: i64,
    pub adding_mg: i64,
}

/// `PURCHASE_LIMIT_EXCEEDED`: this order would take the customer past a daily limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error(
    "this order adds {} to the daily {} limit of {}, and {} was already bought today",
    Grams(*.adding_mg), .name, Grams(*.max_mg), Grams(*.already_mg)
)]
pub struct PurchaseLimitExceeded {
    pub limit_id: String,
    pub name: String,
    pub max_mg: i64,
    pub already_mg: i64,
    pub adding_mg: i64,
}

impl LimitUsage {
    #[must_use]
    pub const fn total_mg(&self) -> i64 {
        self.already_mg.saturating_add(self.adding_mg)
    }

    /// What may still be bought today under this limit.
    #[must_use]
    pub const fn remaining_mg(&self) -> i64 {
        let left = self.max_mg.saturating_sub(self.already_mg);
        if left > 0 { left } else { 0 }
    }

    /// Exactly at the limit is allowed. An order adding nothing to a limit is never refused
    /// by it, even if earlier purchases somehow went past it.
    #[must_use]
    pub const fn is_exceeded(&self) -> bool {
        self.adding_mg > 0 && self.total_mg() > self.max_mg
    }
}

impl From<LimitUsage> for PurchaseLimitExceeded {
    fn from(u: LimitUsage) -> Self {
        Self {
            limit_id: u.limit_id,
            name: u.name,
            max_mg: u.max_mg,
            already_mg: u.already_mg,
            adding_mg: u.adding_mg,
        }
    }
}

impl PurchaseLimit {
    /// How a product type counts against this limit, if at all.
    #[must_use]
    pub fn measure_of(&self, product_type: ProductType) -> Option<Measure> {
        self.counts
            .iter()
            .find(|c| c.product_types.contains(&product_type))
            .map(|c| c.measure)
    }

    /// Milligrams `lines` count against this limit, saturating rather than overflowing.
    #[must_use]
    pub fn counted_mg(&self, lines: &[LimitedLine]) -> i64 {
        lines
            .iter()
            .filter_map(|line| {
                let per_package = match self.measure_of(line.product_type)? {
                    Measure::NetWeight => line.net_weight_mg,
                    Measure::Thc => line.thc_mg,
                };
                Some(line.quantity.max(0).saturating_mul(per_package.max(0)))
            })
            .fold(0, i64::saturating_add)
    }
}

impl Jurisdiction {
    /// Each daily limit, in file order, with what was bought today and what this order adds.
    #[must_use]
    pub fn usage(
        &self,
        already_today: &[LimitedLine],
        this_order: &[LimitedLine],
    ) -> Vec<LimitUsage> {
        self.purchase_limits
            .iter()
            .map(|limit| LimitUsage {
                limit_id: limit.id.clone(),
                name: limit.name.clone(),
                max_mg: limit.max_mg,
                already_mg: limit.counted_mg(already_today),
                adding_mg: limit.counted_mg(this_order),
            })
            .collect()
    }

    /// # Errors
    /// [`PurchaseLimitExceeded`] for the first limit (in file order) that this order would
    /// take past its maximum for the customer's local day.
    pub fn check_purchase_limits(
        &self,
        already_today: &[LimitedLine],
        this_order: &[LimitedLine],
    ) -> Result<(), PurchaseLimitExceeded> {
        match self
            .usage(already_today, this_order)
            .into_iter()
            .find(LimitUsage::is_exceeded)
        {
            Some(usage) => Err(usage.into()),
            None => Ok(()),
        }
    }
}

/// Milligrams shown as grams for people: 28500 → "28.5 g", 8000 → "8 g", 250 → "0.25 g".
struct Grams(i64);

impl fmt::Display for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let mg = self.0.unsigned_abs();
        let (whole, frac) = (mg / 1000, mg % 1000);
        if frac == 0 {
            write!(f, "{sign}{whole} g")
        } else {
            let digits = format!("{frac:03}");
            write!(f, "{sign}{whole}.{} g", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;
    use ProductType::{Accessory, Beverage, Concentrate, Edible, Flower, PreRoll, Topical, Vape};

    fn line(
        product_type: ProductType,
        quantity: i64,
        net_weight_mg: i64,
        thc_mg: i64,
    ) -> LimitedLine {
        LimitedLine {
            product_type,
            quantity,
            net_weight_mg,
            thc_mg,
        }
    }

    fn ca() -> Jurisdiction {
        Rules::embedded().unwrap().get("CA").unwrap().clone()
    }

    #[test]
    fn exactly_at_the_flower_limit_is_allowed() {
        let ca = ca();
        // 14 g bought earlier; now 3 × 3.5 g eighths + 4 × 1 g pre-rolls = 14.5 g → 28.5 g.
        let earlier = [line(Flower, 4, 3500, 700)];
        let order = [line(Flower, 3, 3500, 700), line(PreRoll, 4, 1000, 200)];
        assert_eq!(ca.check_purchase_limits(&earlier, &order), Ok(()));
        let flower = &ca.usage(&earlier, &order)[0];
        assert_eq!((flower.already_mg, flower.adding_mg), (14_000, 14_500));
        assert_eq!(flower.total_mg(), 28_500);
        assert_eq!(flower.remaining_mg(), 14_500);
    }

    #[test]
    fn one_gram_over_the_flower_limit_is_refused() {
        let ca = ca();
        let earlier = [line(Flower, 4, 3500, 700)];
        let order = [line(Flower, 3, 3500, 700), line(PreRoll, 5, 1000, 200)];
        let err = ca.check_purchase_limits(&earlier, &order).unwrap_err();
        assert_eq!(
            err,
            PurchaseLimitExceeded {
                limit_id: "flower".into(),
                name: err.name.clone(),
                max_mg: 28_500,
                already_mg: 14_000,
                adding_mg: 15_500,
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "this order adds 15.5 g to the daily {} limit of 28.5 g, and 14 g was already bought today",
                err.name
            )
        );
    }

    #[test]
    fn one_milligram_over_is_refused() {
        let ca = ca();
        assert!(
            ca.check_purchase_limits(&[], &[line(Flower, 1, 28_500, 0)])
                .is_ok()
        );
        assert!(
            ca.check_purchase_limits(&[], &[line(Flower, 1, 28_501, 0)])
                .is_err()
        );
    }

    #[test]
    fn edibles_count_their_thc_against_the_concentrate_limit() {
        let ca = ca();
        // A 1 g vape cartridge by net weight (its 850 mg THC does not matter), 2 × 1 g of
        // wax, then 10 packs of 100 mg gummies weighing 50 g each: 1000 + 2000 + 1000 THC mg
        // plus 4 beverages of 100 mg THC = 4400 mg of 8000.
        let order = [
            line(Vape, 1, 1000, 850),
            line(Concentrate, 2, 1000, 800),
            line(Edible, 10, 50_000, 100),
            line(Beverage, 4, 355_000, 100),
        ];
        assert_eq!(ca.check_purchase_limits(&[], &order), Ok(()));
        let usage = ca.usage(&[], &order);
        let concentrate = usage.iter().find(|u| u.limit_id == "concentrate").unwrap();
        assert_eq!(concentrate.adding_mg, 4_400);
        // The edibles' 500 g net weight touches neither limit.
        assert_eq!(
            usage
                .iter()
                .find(|u| u.limit_id == "flower")
                .unwrap()
                .adding_mg,
            0
        );

        // With 4 g of concentrate bought earlier, 4 g of edible THC reaches 8 g exactly and
        // fits; 1 mg more does not.
        let earlier = [line(Concentrate, 4, 1000, 800)];
        let edibles = line(Edible, 40, 20_000, 100);
        assert!(ca.check_purchase_limits(&earlier, &[edibles]).is_ok());
        let err = ca
            .check_purchase_limits(&earlier, &[edibles, line(Edible, 1, 5_000, 1)])
            .unwrap_err();
        assert_eq!(
            (err.limit_id.as_str(), err.already_mg, err.adding_mg),
            ("concentrate", 4_000, 4_001)
        );
    }

    #[test]
    fn what_no_limit_counts_is_never_refused() {
        let ca = ca();
        let earlier = [line(Flower, 1, 28_500, 0)];
        let order = [
            line(Accessory, 3, 200_000, 0),
            line(Topical, 50, 100_000, 500),
        ];
        assert_eq!(ca.check_purchase_limits(&earlier, &order), Ok(()));
        // Even when earlier purchases somehow went over, an order adding nothing passes.
        assert!(
            ca.check_purchase_limits(&[line(Flower, 2, 28_500, 0)], &order)
                .is_ok()
        );
    }

    #[test]
    fn negative_lines_cannot_offset_real_ones() {
        let ca = ca();
        let order = [
            line(Flower, 1, 28_500, 0),
            line(Flower, -10, 3_500, 0),
            line(Flower, 1, -5_000, 0),
        ];
        assert!(
            ca.check_purchase_limits(&[line(Flower, 1, 1_000, 0)], &order)
                .is_err()
        );
        let huge = [line(Flower, i64::MAX, i64::MAX, 0)];
        assert!(ca.check_purchase_limits(&huge, &huge).is_err());
    }

    #[test]
    fn grams_are_shown_without_trailing_zeros() {
        assert_eq!(Grams(28_500).to_string(), "28.5 g");
        assert_eq!(Grams(8_000).to_string(), "8 g");
        assert_eq!(Grams(250).to_string(), "0.25 g");
        assert_eq!(Grams(1).to_string(), "0.001 g");
    }
}
