//! Order, stock and payment statuses, and the one table of allowed order transitions.
//!
//! The saga (DESIGN §3) moves an order through these statuses from several services' event
//! handlers; every one of them asks [`OrderStatus::can_transition_to`], so the rules live in
//! exactly one place.

use serde_json::json;

use crate::problem::{Code, Problem};

string_enum! {
    /// Where an order is in its life, as clients see it.
    pub enum OrderStatus (field = "status") {
        /// Submitted; stock reservation and payment are under way.
        Pending => "pending",
        /// Stock reserved and payment succeeded.
        Confirmed => "confirmed",
        /// Staff are packing it.
        Preparing => "preparing",
        /// A driver has picked it up.
        OutForDelivery => "out_for_delivery",
        /// Handed over after the ID check at the door. Final.
        Delivered => "delivered",
        /// Cancelled by the customer, staff, a stock shortage, a payment failure or a timeout.
        /// Final.
        Cancelled => "cancelled",
        /// The charge failed; the order waits to be cancelled so its reservation is released.
        PaymentFailed => "payment_failed",
    }
}

string_enum! {
    /// Outcome of catalog's stock reservation for a pending order.
    pub enum StockStatus (field = "stockStatus") {
        /// Catalog has not answered yet.
        Pending => "pending",
        /// Every line is reserved.
        Reserved => "reserved",
        /// At least one line was short; the order is cancelled.
        Rejected => "rejected",
    }
}

string_enum! {
    /// Outcome of the payment for an order.
    pub enum PaymentStatus (field = "paymentStatus") {
        /// Not charged yet, or the provider has not confirmed.
        Pending => "pending",
        /// Charged.
        Succeeded => "succeeded",
        /// The charge was declined or errored.
        Failed => "failed",
        /// Charged, then refunded after a cancellation.
        Refunded => "refunded",
        /// The customer must confirm the charge (3-D Secure) in the app; still pending for
        /// the saga.
        ActionRequired => "action_required",
    }
}

/// An order status change the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot move from `{from}` to `{to}`")]
pub struct InvalidTransition {
    /// The current status.
    pub from: OrderStatus,
    /// The refused next status.
    pub to: OrderStatus,
}

impl From<InvalidTransition> for Problem {
    fn from(error: InvalidTransition) -> Self {
        Problem::new(Code::InvalidStateTransition)
            .with_detail(error.to_string())
            .with_extension("currentStatus", json!(error.from))
            .with_extension("requestedStatus", json!(error.to))
    }
}

impl OrderStatus {
    /// The transition table: whether an order in `self` may move to `next`.
    ///
    /// | from | to | why |
    /// |---|---|---|
    /// | pending | confirmed | payment succeeded |
    /// | pending | payment_failed | payment failed |
    /// | pending | cancelled | stock rejected, timeout, customer or staff |
    /// | confirmed | preparing | staff start packing |
    /// | confirmed | cancelled | customer or staff |
    /// | preparing | out_for_delivery | driver picked it up |
    /// | preparing | cancelled | customer or staff |
    /// | out_for_delivery | delivered | driver checked ID and handed it over |
    /// | out_for_delivery | cancelled | delivery failed: ID check failed, nobody home |
    /// | payment_failed | cancelled | releases the stock reservation |
    ///
    /// `payment_failed → pending` is not allowed: a retry is a new order, so a failed charge
    /// can never be replayed against an old reservation. `out_for_delivery → cancelled`
    /// exists because a driver must never hand over an order when the ID check fails, and
    /// the order must end somewhere (the goods return to stock); customers cannot take that
    /// path, see [`OrderStatus::customer_may_cancel`]. Staying in the same status is not a
    /// transition.
    #[must_use]
    pub const fn can_transition_to(self, next: Self) -> bool {
        use OrderStatus::{
            Cancelled, Confirmed, Delivered, OutForDelivery, PaymentFailed, Pending, Preparing,
        };
        matches!(
            (self, next),
            (Pending, Confirmed | PaymentFailed | Cancelled)
                | (Confirmed, Preparing | Cancelled)
                | (Preparing, OutForDelivery | Cancelled)
                | (OutForDelivery, Delivered | Cancelled)
                | (PaymentFailed, Cancelled)
        )
    }

    /// `next` if the table allows it.
    ///
    /// # Errors
    /// [`InvalidTransition`] (a `409 INVALID_STATE_TRANSITION` problem) otherwise.
    pub const fn transition(self, next: Self) -> Result<Self, InvalidTransition> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(InvalidTransition {
                from: self,
                to: next,
            })
        }
    }

    /// Whether no transition leaves this status (delivered, cancelled).
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled)
    }

    /// Whether the customer may still cancel: any status that can become `cancelled` before
    /// the order is out for delivery.
    #[must_use]
    pub const fn customer_may_cancel(self) -> bool {
        !matches!(self, Self::OutForDelivery) && self.can_transition_to(Self::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    /// The table of DESIGN §3 written out independently of `can_transition_to`.
    const ALLOWED: [(OrderStatus, OrderStatus); 10] = [
        (Pending, Confirmed),
        (Pending, PaymentFailed),
        (Pending, Cancelled),
        (Confirmed, Preparing),
        (Confirmed, Cancelled),
        (Preparing, OutForDelivery),
        (Preparing, Cancelled),
        (OutForDelivery, Delivered),
        (OutForDelivery, Cancelled),
        (PaymentFailed, Cancelled),
    ];

    #[test]
    fn every_pair_matches_the_table() {
        assert_eq!(OrderStatus::ALL.len(), 7);
        let mut checked = 0;
        for &from in OrderStatus::ALL {
            for &to in OrderStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
    }

    #[test]
    fn terminal_statuses_have_no_way_out_and_others_do() {
        for &status in OrderStatus::ALL {
            let has_exit = OrderStatus::ALL
                .iter()
                .any(|&next| status.can_transition_to(next));
            assert_eq!(status.is_terminal(), !has_exit, "{status}");
        }
        assert!(Delivered.is_terminal() && Cancelled.is_terminal());
        assert!(!PaymentFailed.is_terminal());
    }

    #[test]
    fn failed_payment_cannot_be_retried_on_the_same_order() {
        assert!(!PaymentFailed.can_transition_to(Pending));
        assert!(!PaymentFailed.can_transition_to(Confirmed));
    }

    #[test]
    fn no_status_transitions_to_itself() {
        for &status in OrderStatus::ALL {
            assert!(!status.can_transition_to(status), "{status}");
        }
    }

    #[test]
    fn customer_may_cancel_only_before_out_for_delivery() {
        let may: Vec<OrderStatus> = OrderStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.customer_may_cancel())
            .collect();
        assert_eq!(may, [Pending, Confirmed, Preparing, PaymentFailed]);
    }

    #[test]
    fn transition_error_names_both_statuses() {
        let error = Delivered.transition(Pending).unwrap_err();
        assert_eq!(
            error,
            InvalidTransition {
                from: Delivered,
                to: Pending
            }
        );
        assert_eq!(
            error.to_string(),
            "an order cannot move from `delivered` to `pending`"
        );
        assert_eq!(Pending.transition(Confirmed), Ok(Confirmed));
    }

    #[test]
    fn transition_error_becomes_a_409_problem() {
        let problem = Problem::from(Cancelled.transition(Preparing).unwrap_err());
        assert_eq!(problem.status(), 409);
        assert_eq!(problem.code(), Code::InvalidStateTransition);
        let body = serde_json::to_value(&problem).unwrap();
        assert_eq!(body["currentStatus"], "cancelled");
        assert_eq!(body["requestedStatus"], "preparing");
    }

    #[test]
    fn wire_names_are_snake_case() {
        assert_eq!(
            serde_json::to_value(OutForDelivery).unwrap(),
            "out_for_delivery"
        );
        assert_eq!(
            serde_json::to_value(PaymentFailed).unwrap(),
            "payment_failed"
        );
        assert_eq!(
            "out_for_delivery".parse::<OrderStatus>().unwrap(),
            OutForDelivery
        );
        assert!("outForDelivery".parse::<OrderStatus>().is_err());
        assert_eq!(
            serde_json::to_value(StockStatus::Reserved).unwrap(),
            "reserved"
        );
        assert_eq!(
            serde_json::to_value(PaymentStatus::Refunded).unwrap(),
            "refunded"
        );
        assert_eq!(StockStatus::ALL.len(), 3);
        assert_eq!(
            serde_json::to_value(PaymentStatus::ActionRequired).unwrap(),
            "action_required"
        );
        assert_eq!(PaymentStatus::ALL.len(), 5);
        assert_eq!(
            "payment".parse::<PaymentStatus>().unwrap_err().field(),
            Some("paymentStatus")
        );
    }
}
