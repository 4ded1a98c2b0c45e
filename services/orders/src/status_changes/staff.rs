//! Admins move an order on: start preparing it, cancel it with a note, or assign (and
//! reassign) its driver before pick-up.

use super::{Access, CancelReason, Change, apply, cancel, record, with_order};
use crate::db;
use crate::db::orders::OrderRow;
use crate::events;
use crate::state::AppState;
use chrono::Utc;
use domain::{Code, OrderId, OrderStatus, Problem, Role, UserId};
use platform::client::Actor;
use serde_json::json;

/// What staff may set through `POST /api/admin/orders/{id}/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    /// `confirmed → preparing`.
    Preparing,
    /// Cancels the order (a note is required).
    Cancelled,
}

/// A staff member's next step for an order, with the note it needs.
#[derive(Debug, Clone, Copy)]
pub enum StaffStep<'a> {
    /// `confirmed → preparing`, with an optional note.
    Prepare(Option<&'a str>),
    /// Cancel, saying why.
    Cancel(&'a str),
}

/// Admins move an order on (start preparing) or cancel it.
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    step: StaffStep<'_>,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Admin, |conn, order| {
        match step {
            StaffStep::Cancel(note) => {
                cancel(conn, order, actor, CancelReason::Staff, Some(note)).await
            }
            StaffStep::Prepare(note) => {
                let from = order.status;
                apply(
                    conn,
                    order,
                    Change {
                        status: Some(OrderStatus::Preparing),
                        note,
                        actor: Some(actor),
                        ..Change::default()
                    },
                )
                .await?;
                let details = json!({
                    "orderNumber": order.order_number, "from": from, "to": "preparing", "note": note,
                });
                record(conn, actor, "order.status_changed", order, details).await
            }
        }
    })
}

/// Admins assign (or reassign) an active driver to a confirmed or preparing order.
pub async fn assign_driver(
    state: &AppState,
    actor: &Actor,
    id: OrderId,
    driver_id: UserId,
) -> Result<OrderRow, Problem> {
    with_order!(state, id, Access::Admin, |conn, order| {
        let driver = db::users::find(conn, driver_id)
            .await?
            .filter(|u| u.role == Role::Driver)
            .ok_or_else(|| {
                Problem::new(Code::BusinessRule)
                    .with_detail(format!("User {driver_id} is not a driver."))
            })?;
        if !driver.is_active() {
            return Err(Problem::new(Code::AccountSuspended)
                .with_detail("This driver's account is suspended."));
        }
        let status = order.status;
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
        let customer_name = customer.map(|c| c.full_name).unwrap_or_default();
        let assigned = events::DriverAssigned {
            customer_name: &customer_name,
            driver: &driver,
            previous,
            destination: destination.as_ref(),
            actor,
        };
        events::driver_assigned(conn, order, &assigned).await?;
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
