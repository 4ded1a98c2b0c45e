//! What people do to an order after checkout: the customer cancels; admins start preparing,
//! cancel and assign a driver; the driver picks up, delivers after the ID check at the door,
//! or reports a failed delivery. Each runs in one transaction with the order locked, its
//! events and its audit entry.

use crate::config::SERVICE;
use crate::db;
use crate::db::orders::OrderRow;
use crate::lifecycle::{self, CancelReason, Change, Delivery};
use crate::state::AppState;
use chrono::{NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, OrderStatus, Problem};
use events::audit::{self, Actor};
use events::outbox::publish;
use events::{timestamp, v1};
use serde_json::json;
use uuid::Uuid;

/// Who may touch an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only their own orders.
    Customer(Uuid),
    /// Only orders assigned to them.
    Driver(Uuid),
    /// Every order (admins).
    Admin,
}

impl Access {
    pub fn allows(self, order: &OrderRow) -> bool {
        match self {
            Self::Customer(id) => order.customer_id == id,
            Self::Driver(id) => order.driver_id == Some(id),
            Self::Admin => true,
        }
    }
}

pub fn not_found(id: Uuid) -> Problem {
    Problem::not_found(format!("No order {id}."))
}

/// The order locked, if `access` may see it (404 otherwise: not yours reads as not found).
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    access: Access,
) -> Result<OrderRow, Problem> {
    db::orders::lock(conn, id)
        .await?
        .filter(|order| access.allows(order))
        .ok_or_else(|| not_found(id))
}

fn change_error(err: lifecycle::ChangeError) -> Problem {
    match err {
        lifecycle::ChangeError::Transition(err) => err.into(),
        lifecycle::ChangeError::Database(err) => err.into(),
    }
}

async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    order: &OrderRow,
    details: serde_json::Value,
) -> Result<(), Problem> {
    audit::record(conn, SERVICE, actor, action, ("order", order.id), &details).await?;
    Ok(())
}

/// Runs `$body` (a `Result<(), Problem>` block) on the order locked for `$access` in one
/// transaction, and evaluates to the order after it.
macro_rules! with_order {
    ($state:expr, $id:expr, $access:expr, |$conn:ident, $order:ident| $body:block) => {{
        let mut conn = $state.db().await?;
        conn.transaction(async |$conn| {
            let mut locked = lock_visible($conn, $id, $access).await?;
            {
                let $order = &mut locked;
                let outcome: Result<(), Problem> = async { $body }.await;
                outcome?;
            }
            Ok::<_, Problem>(locked)
        })
        .await
    }};
}

/// The customer cancels before the order is out for delivery.
pub async fn cancel_by_customer(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    note: Option<&str>,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Customer(actor.id), |conn, order| {
        let status = lifecycle::status_of(order);
        if !status.customer_may_cancel() {
            return Err(
                Problem::new(Code::InvalidStateTransition).with_detail(format!(
                    "An order that is {status} can no longer be cancelled."
                )),
            );
        }
        cancel(conn, order, actor, CancelReason::CustomerRequested, note).await
    })
}

async fn cancel(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
    actor: &Actor,
    reason: CancelReason,
    note: Option<&str>,
) -> Result<(), Problem> {
    let from = order.status.clone();
    lifecycle::apply(
        conn,
        order,
        Change {
            status: Some(OrderStatus::Cancelled),
            cancel: Some(reason),
            note,
            actor: Some(actor),
            ..Change::default()
        },
    )
    .await
    .map_err(change_error)?;
    record(
        conn,
        actor,
        "order.cancelled",
        order,
        json!({
            "orderNumber": order.order_number,
            "from": from,
            "reason": reason.as_str(),
            "note": note,
        }),
    )
    .await
}

/// What staff may set through `POST /api/admin/orders/{id}/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    /// `confirmed → preparing`.
    Preparing,
    /// Cancels the order (a reason is required).
    Cancelled,
}

/// Admins move an order on (start preparing) or cancel it.
pub async fn set_status_by_staff(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    status: StaffStatus,
    note: Option<&str>,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Admin, |conn, order| {
        match status {
            StaffStatus::Cancelled => cancel(conn, order, actor, CancelReason::Staff, note).await,
            StaffStatus::Preparing => {
                let from = order.status.clone();
                lifecycle::apply(
                    conn,
                    order,
                    Change {
                        status: Some(OrderStatus::Preparing),
                        note,
                        actor: Some(actor),
                        ..Change::default()
                    },
                )
                .await
                .map_err(change_error)?;
                record(conn, actor, "order.status_changed", order, json!({
                "orderNumber": order.order_number, "from": from, "to": "preparing", "note": note,
            }))
            .await
            }
        }
    })
}

/// Admins assign (or reassign) an active driver before pick-up.
pub async fn assign_driver(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    driver_id: Uuid,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Admin, |conn, order| {
        let driver = db::users::find(conn, driver_id)
            .await?
            .filter(|u| u.role == "driver")
            .ok_or_else(|| {
                Problem::new(Code::BusinessRule)
                    .with_detail(format!("User {driver_id} is not a driver."))
            })?;
        if !driver.is_active() {
            return Err(Problem::new(Code::AccountSuspended)
                .with_detail("This driver's account is suspended."));
        }
        let status = lifecycle::status_of(order);
        if !matches!(status, OrderStatus::Confirmed | OrderStatus::Preparing) {
            return Err(Problem::new(Code::InvalidStateTransition).with_detail(format!(
                "A driver can be assigned to a confirmed or preparing order, not one that is {status}."
            )));
        }
        let previous = order.driver_id;
        if previous == Some(driver_id) {
            return Ok(());
        }
        order.driver_id = Some(driver_id);
        order.updated_at = Utc::now();
        db::orders::save(conn, order).await?;
        let customer = db::users::find(conn, order.customer_id).await?;
        let destination = db::orders::destination(conn, order.id).await?;
        let correlation = order.id.to_string();
        publish(
            conn,
            &v1::OrderDriverAssigned {
                order_id: correlation.clone(),
                order_number: order.order_number.clone(),
                customer_id: order.customer_id.to_string(),
                customer_name: customer.map(|c| c.full_name).unwrap_or_default(),
                driver_id: driver_id.to_string(),
                driver_name: driver.full_name.clone(),
                previous_driver_id: previous.map(|d| d.to_string()).unwrap_or_default(),
                destination: destination.as_ref().map(crate::checkout::destination_event),
                actor_id: actor.id.to_string(),
                assigned_at: Some(timestamp(Utc::now())),
            },
            Some(&correlation),
        )
        .await?;
        record(
            conn,
            actor,
            "order.driver_assigned",
            order,
            json!({
                "orderNumber": order.order_number,
                "driverId": driver_id,
                "previousDriverId": previous,
            }),
        )
        .await
    })
}

/// The driver has the goods: `preparing → out_for_delivery`.
pub async fn pick_up(state: &AppState, actor: &Actor, id: Uuid) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Driver(actor.id), |conn, order| {
        lifecycle::apply(
            conn,
            order,
            Change {
                status: Some(OrderStatus::OutForDelivery),
                actor: Some(actor),
                ..Change::default()
            },
        )
        .await
        .map_err(change_error)?;
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
    pub document: v1::IdDocumentType,
    pub document_name: &'static str,
    pub date_of_birth: NaiveDate,
    pub location: Option<geo::Point>,
}

/// Hands the order over if the ID shows the customer, 21 or older; otherwise records the
/// failed check (the order stays out for delivery until the driver reports the failure).
pub async fn deliver(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    check: IdCheck,
) -> Result<OrderRow, Problem> {
    let rules = state.rules.clone();
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| {
            let mut order = lock_visible(conn, id, Access::Driver(actor.id)).await?;
            if lifecycle::status_of(&order) != OrderStatus::OutForDelivery {
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
                "documentType": check.document_name,
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
            lifecycle::apply(
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
            .await
            .map_err(change_error)?;
            crate::trace::queue_receipt(conn, &order, rules.as_ref()).await?;
            record(conn, actor, "order.delivered", &order, details).await?;
            Ok::<_, Problem>(Ok(order))
        })
        .await?;
    outcome.map_err(|failure| {
        Problem::new(Code::IdCheckFailed)
            .with_detail(format!(
                "The ID check failed ({failure}). Do not hand the order over; report the failed delivery."
            ))
            .with_extension("reason", failure)
    })
}

/// Why the ID at the door does not allow the hand-over, if it does not.
pub fn id_check_failure(
    on_file: Option<NaiveDate>,
    on_id: NaiveDate,
    today: NaiveDate,
    minimum_age: u32,
) -> Option<&'static str> {
    if domain::age_on(on_id, today) < minimum_age {
        Some("under_age")
    } else if on_file != Some(on_id) {
        Some("birth_date_mismatch")
    } else {
        None
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

/// The driver could not deliver: the order is cancelled (the goods go back to stock and the
/// payment is refunded through `order.cancelled`).
pub async fn fail_delivery(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: FailureReason,
    note: &str,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Driver(actor.id), |conn, order| {
        if lifecycle::status_of(order) != OrderStatus::OutForDelivery {
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
            Some("under_age")
        );
        assert_eq!(
            id_check_failure(Some(d("2000-01-01")), d("1999-01-01"), today, 21),
            Some("birth_date_mismatch")
        );
        assert_eq!(
            id_check_failure(None, d("1999-01-01"), today, 21),
            Some("birth_date_mismatch")
        );
    }
}
