//! The delivery fee by distance, free delivery, and the minimum order.

use crate::jurisdiction::Jurisdiction;
use serde::{Deserialize, Serialize};

/// Fee bands measured from the centre of the service area the address falls in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryFee {
    /// Ascending by `up_to_miles` (checked on load); an address past the last band is not
    /// delivered to.
    pub bands: Vec<FeeBand>,
    /// Goods subtotal from which delivery is free, in cents; `None` never free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_from_cents: Option<i64>,
}

/// The fee for addresses up to and including `up_to_miles` from the centre (and beyond the
/// previous band).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeeBand {
    pub up_to_miles: f64,
    pub fee_cents: i64,
}

impl DeliveryFee {
    /// The fee in cents, or `None` when `distance_miles` is beyond the last band (or not a
    /// number). Distance decides deliverability before the subtotal decides the price, so a
    /// large order does not make a far address deliverable.
    #[must_use]
    pub fn fee_cents(&self, distance_miles: f64, subtotal_cents: i64) -> Option<i64> {
        let band = self
            .bands
            .iter()
            .find(|b| distance_miles <= b.up_to_miles)?;
        match self.free_from_cents {
            Some(free_from) if subtotal_cents >= free_from => Some(0),
            _ => Some(band.fee_cents),
        }
    }
}

/// `UNDER_MINIMUM_ORDER`: the goods subtotal is below the jurisdiction's minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error(
    "the minimum order is {minimum_cents} cents; this order's subtotal is {subtotal_cents} cents"
)]
pub struct UnderMinimumOrder {
    pub minimum_cents: i64,
    pub subtotal_cents: i64,
}

impl UnderMinimumOrder {
    /// What the customer would need to add.
    #[must_use]
    pub const fn shortfall_cents(&self) -> i64 {
        self.minimum_cents.saturating_sub(self.subtotal_cents)
    }
}

impl Jurisdiction {
    /// See [`DeliveryFee::fee_cents`].
    #[must_use]
    pub fn delivery_fee_cents(&self, distance_miles: f64, subtotal_cents: i64) -> Option<i64> {
        self.delivery_fee.fee_cents(distance_miles, subtotal_cents)
    }

    /// # Errors
    /// [`UnderMinimumOrder`] when `subtotal_cents` is below the minimum (exactly the minimum
    /// is enough).
    pub fn check_minimum_order(&self, subtotal_cents: i64) -> Result<(), UnderMinimumOrder> {
        if subtotal_cents >= self.minimum_order_cents {
            Ok(())
        } else {
            Err(UnderMinimumOrder {
                minimum_cents: self.minimum_order_cents,
                subtotal_cents,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Rules;

    #[test]
    fn fee_bands_at_their_edges() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.get("TX").unwrap();
        let fee = |miles| tx.delivery_fee_cents(miles, 5_000);
        assert_eq!(fee(0.0), Some(500));
        assert_eq!(fee(10.0), Some(500));
        assert_eq!(fee(10.000_001), Some(750));
        assert_eq!(fee(20.0), Some(750));
        assert_eq!(fee(20.5), Some(1_000));
        assert_eq!(fee(25.0), Some(1_000));
        assert_eq!(fee(25.000_001), None);
        assert_eq!(fee(f64::NAN), None);
    }

    #[test]
    fn delivery_is_free_from_exactly_one_hundred_dollars() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.get("TX").unwrap();
        assert_eq!(tx.delivery_fee_cents(12.0, 9_999), Some(750));
        assert_eq!(tx.delivery_fee_cents(12.0, 10_000), Some(0));
        assert_eq!(tx.delivery_fee_cents(24.0, 50_000), Some(0));
        // Free delivery does not stretch the area.
        assert_eq!(tx.delivery_fee_cents(30.0, 50_000), None);
    }

    #[test]
    fn the_minimum_order_is_inclusive() {
        let rules = Rules::embedded().unwrap();
        let tx = rules.get("TX").unwrap();
        assert_eq!(tx.check_minimum_order(2_500), Ok(()));
        let err = tx.check_minimum_order(2_499).unwrap_err();
        assert_eq!(
            (err.minimum_cents, err.subtotal_cents, err.shortfall_cents()),
            (2_500, 2_499, 1)
        );
    }
}
