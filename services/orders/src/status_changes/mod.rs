//! Every change of an order after checkout, in one place. Whoever moves an order on goes
//! through [`transition::apply`] (the transition table, the history entry, the events), with
//! the order row locked in the caller's transaction:
//! - [`customer`]: the customer cancels;
//! - [`staff`]: admins start preparing, cancel, and assign a driver;
//! - [`driver`]: the driver picks up, delivers after the ID check at the door, or reports a
//!   failed delivery;
//! - [`saga`]: catalog's stock answer and payments' payment answer move a pending order on;
//! - [`timeouts`]: the timer cancels orders left pending and closes failed payments.
//!
//! The people's changes are audited (`audit.recorded`) in the same transaction.

pub mod customer;
pub mod driver;
pub mod saga;
pub mod staff;
pub mod timeouts;
pub mod transition;

pub use transition::{Applied, CancelReason, Change, ChangeError, apply};

use crate::config::SERVICE;
use crate::db;
use crate::db::orders::OrderRow;
use diesel_async::AsyncPgConnection;
use domain::{OrderId, Problem, UserId};
use events::audit;
use platform::client::Actor;
use serde_json::json;

/// Who may touch an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only their own orders.
    Customer(UserId),
    /// Only orders assigned to them.
    Driver(UserId),
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

/// 404 for an order the caller may not see as much as for one that does not exist.
pub fn not_found(id: OrderId) -> Problem {
    Problem::not_found(format!("No order {id}."))
}

/// The order locked, if `access` may see it (404 otherwise: not yours reads as not found).
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    id: OrderId,
    access: Access,
) -> Result<OrderRow, Problem> {
    db::orders::lock(conn, id)
        .await?
        .filter(|order| access.allows(order))
        .ok_or_else(|| not_found(id))
}

/// Writes the audit entry of `action` on `order` by `actor`, in the change's transaction.
async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    order: &OrderRow,
    details: serde_json::Value,
) -> Result<(), Problem> {
    audit::record(
        conn,
        SERVICE,
        actor,
        action,
        ("order", order.id.into_inner()),
        &details,
    )
    .await?;
    Ok(())
}

/// Cancels the locked `order` for `reason`, audited as `actor`'s.
async fn cancel(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
    actor: &Actor,
    reason: CancelReason,
    note: Option<&str>,
) -> Result<(), Problem> {
    let from = order.status;
    apply(
        conn,
        order,
        Change {
            status: Some(domain::OrderStatus::Cancelled),
            cancel: Some(reason),
            note,
            actor: Some(actor),
            ..Change::default()
        },
    )
    .await?;
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

/// Runs `$body` (a `Result<(), Problem>` block) on the order locked for `$access` in one
/// transaction, and evaluates to the order after it.
macro_rules! with_order {
    ($state:expr, $id:expr, $access:expr, |$conn:ident, $order:ident| $body:block) => {{
        use diesel_async::AsyncConnection as _;
        let mut conn = $state.db().await?;
        conn.transaction(async |$conn| {
            let mut locked = $crate::status_changes::lock_visible($conn, $id, $access).await?;
            {
                let $order = &mut locked;
                let outcome: Result<(), domain::Problem> = async { $body }.await;
                outcome?;
            }
            Ok::<_, domain::Problem>(locked)
        })
        .await
    }};
}
pub(crate) use with_order;
