//! FS Coin (the guide's rewards): 1 point per whole dollar paid by card, 100 points = $1.00.
//! Plain rules here; the ledger (`ledger.rs`) applies them.

use domain::Money;

/// Points that make one dollar.
pub const POINTS_PER_DOLLAR: i64 = 100;

/// What `points` are worth.
pub fn value_of(points: i64) -> Money {
    // 1 point = 1 cent.
    Money::from_cents(points.max(0)).unwrap_or(Money::ZERO)
}

/// Points earned for `paid_by_card`: one per whole dollar (cents do not count).
pub fn earned_for(paid_by_card: Money) -> i64 {
    paid_by_card.to_cents().max(0) / 100
}

/// Points a payment of `amount_due` can take: all that are asked for, up to the amount.
pub fn redeemable(requested: i64, amount_due: Money) -> i64 {
    requested.clamp(0, amount_due.to_cents())
}

domain::string_enum! {
    /// The kinds of ledger entry.
    pub enum EntryKind (field = "type") {
        Earned => "earned",
        Redeemed => "redeemed",
        /// Redeemed points given back (a refund or a failed payment).
        Restored => "restored",
        /// Earned points taken back (the order they came from was refunded).
        Reversed => "reversed",
        Expired => "expired",
        /// By an admin, with a reason.
        Adjusted => "adjusted",
    }
}

impl EntryKind {
    pub const fn to_proto(self) -> events::v1::RewardsChangeKind {
        use events::v1::RewardsChangeKind as K;
        match self {
            Self::Earned => K::Earned,
            Self::Redeemed => K::Redeemed,
            Self::Restored => K::Restored,
            Self::Reversed => K::Reversed,
            Self::Expired => K::Expired,
            Self::Adjusted => K::Adjusted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_point_per_whole_dollar_and_a_hundred_points_a_dollar() {
        assert_eq!(earned_for(Money::from_cents(4999).unwrap()), 49);
        assert_eq!(earned_for(Money::from_cents(99).unwrap()), 0);
        assert_eq!(value_of(250).to_string(), "2.50");
        assert_eq!(value_of(POINTS_PER_DOLLAR).to_cents(), 100);
    }

    #[test]
    fn redemption_never_exceeds_what_is_due() {
        let due = Money::from_cents(1500).unwrap();
        assert_eq!(redeemable(500, due), 500);
        assert_eq!(redeemable(5000, due), 1500);
        assert_eq!(redeemable(-5, due), 0);
    }
}
