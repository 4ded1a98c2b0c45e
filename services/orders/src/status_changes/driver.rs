//! The driver's steps: pick up (`preparing → out_for_delivery`), deliver after the ID check at
//! the door, or report a failed delivery (the order is cancelled).

use super::transition::Delivery;
use super::{Access, CancelReason, Change, apply, cancel, lock_visible, record, with_order};
use crate::db;
use crate::db::orders::OrderRow;
use crate::state::AppState;
use crate::track_and_trace;
use chrono::{NaiveDate, Utc};
use diesel_async::AsyncConnection;
use domain::{Code, OrderId, OrderStatus, Problem};
use platform::client::Actor;
use serde_json::json;

domain::string_enum! {
    /// The kind of ID shown at the door.
    pub enum IdDocument (field = "idDocumentType") {
        DriversLicense => "drivers_license",
        StateId => "state_id",
        Passport => "passport",
    }
}

domain::string_enum! {
    /// Why the ID at the door does not allow the hand-over.
    pub enum DoorCheckFailure (field = "reason") {
        /// Younger than the jurisdiction's minimum age.
        UnderAge => "under_age",
        /// Not the birth date on the customer's verified ID.
        BirthDateMismatch => "birth_date_mismatch",
    }
}

/// Why a delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The recipient's ID was missing, under 21 or not the customer's.
    IdCheckFailed,
    /// Nobody there, unsafe or unreachable address.
    Undeliverable,
}

/// The driver has the goods: `preparing → out_for_delivery`.
pub async fn pick_up(state: &AppState, actor: &Actor, id: OrderId) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Driver(actor.user_id()), |conn, order| {
        apply(
            conn,
            order,
            Change {
                status: Some(OrderStatus::OutForDelivery),
                actor: Some(actor),
                ..Change::default()
            },
        )
        .await?;
        record(
            conn,
            actor,
            "order.picked_up",
            order,
            json!({ "orderNumber": order.order_number }),
        )
        .await
    })
}

/// What the driver read from the ID at the door.
#[derive(Debug, Clone)]
pub struct IdCheck {
    pub document: IdDocument,
    pub date_of_birth: NaiveDate,
    pub location: Option<geo::Point>,
}

/// Hands the order over if the ID shows the customer, 21 or older; otherwise records the
/// failed check (the order stays out for delivery until the driver reports the failure) and
/// answers 422 `ID_CHECK_FAILED`.
pub async fn deliver(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    check: IdCheck,
) -> Result<OrderRow, Problem> {
    let rules = state.rules.clone();
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| {
            let mut order = lock_visible(conn, id, Access::Driver(actor.user_id())).await?;
            if order.status != OrderStatus::OutForDelivery {
                return Err(
                    Problem::new(Code::InvalidStateTransition).with_detail(format!(
                        "Only an order out for delivery can be delivered; this one is {}.",
                        order.status
                    )),
                );
            }
            let customer = db::users::find(conn, order.customer_id).await?;
            let jurisdiction = rules.get(&order.jurisdiction);
            let today =
                jurisdiction.map_or_else(|| Utc::now().date_naive(), |j| j.local_date(Utc::now()));
            let failure = id_check_failure(
                customer.as_ref().and_then(|c| c.date_of_birth),
                check.date_of_birth,
                today,
                jurisdiction.map_or(21, |j| j.minimum_age),
            );
            let details = json!({
                "orderNumber": order.order_number,
                "documentType": check.document,
                "dateOfBirth": check.date_of_birth,
                "passed": failure.is_none(),
                "failure": failure,
                "checkedAt": Utc::now(),
            });
            order.id_check = Some(details.clone());
            if let Some(failure) = failure {
                db::orders::save(conn, &order).await?;
                record(conn, actor, "order.id_check_failed", &order, details).await?;
                return Ok(Err(failure));
            }
            apply(
                conn,
                &mut order,
                Change {
                    status: Some(OrderStatus::Delivered),
                    actor: Some(actor),
                    delivery: Some(Delivery {
                        document: check.document,
                        location: check.location,
                    }),
                    ..Change::default()
                },
            )
            .await?;
            track_and_trace::queue_receipt(conn, &order, rules.as_ref()).await?;
            record(conn, actor, "order.delivered", &order, details).await?;
            Ok::<_, Problem>(Ok(order))
        })
        .await?;
    outcome.map_err(|failure| {
        Problem::new(Code::IdCheckFailed)
            .with_detail(format!(
                "The ID check failed ({failure}). Do not hand the order over; report the failed delivery."
            ))
            .with_extension("reason", failure.as_str())
    })
}

/// Why the ID at the door does not allow the hand-over, if it does not.
pub fn id_check_failure(
    on_file: Option<NaiveDate>,
    on_id: NaiveDate,
    today: NaiveDate,
    minimum_age: u32,
) -> Option<DoorCheckFailure> {
    if domain::age_on(on_id, today) < minimum_age {
        Some(DoorCheckFailure::UnderAge)
    } else if on_file != Some(on_id) {
        Some(DoorCheckFailure::BirthDateMismatch)
    } else {
        None
    }
}

/// The driver could not deliver: the order is cancelled (the goods go back to stock and the
/// payment is refunded through `order.cancelled`).
pub async fn fail_delivery(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    reason: FailureReason,
    note: &str,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Driver(actor.user_id()), |conn, order| {
        if order.status != OrderStatus::OutForDelivery {
            return Err(
                Problem::new(Code::InvalidStateTransition).with_detail(format!(
                    "Only an order out for delivery can fail delivery; this one is {}.",
                    order.status
                )),
            );
        }
        let reason = match reason {
            FailureReason::IdCheckFailed => CancelReason::IdCheckFailed,
            FailureReason::Undeliverable => CancelReason::Undeliverable,
        };
        cancel(conn, order, actor, reason, Some(note)).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_door_check_needs_the_age_and_the_customer_birth_date() {
        let today = d("2026-11-25");
        assert_eq!(
            id_check_failure(Some(d("2000-01-01")), d("2000-01-01"), today, 21),
            None
        );
        // 21 today.
        assert_eq!(
            id_check_failure(Some(d("2005-11-25")), d("2005-11-25"), today, 21),
            None
        );
        // 21 tomorrow.
        assert_eq!(
            id_check_failure(Some(d("2005-11-26")), d("2005-11-26"), today, 21),
            Some(DoorCheckFailure::UnderAge)
        );
        assert_eq!(
            id_check_failure(Some(d("2000-01-01")), d("1999-01-01"), today, 21),
            Some(DoorCheckFailure::BirthDateMismatch)
        );
        assert_eq!(
            id_check_failure(None, d("1999-01-01"), today, 21),
            Some(DoorCheckFailure::BirthDateMismatch)
        );
    }
}
