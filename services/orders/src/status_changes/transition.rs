//! [`apply`]: the one way an order's status, stock status or payment status changes. It asks
//! the transition table in `crates/domain`, records the history entry and announces the
//! change (`order.status_changed`, plus `order.cancelled` or `order.delivered` when the order
//! ends there) through the outbox, in the caller's transaction, with the order row locked.

use super::driver::IdDocument;
use crate::db;
use crate::db::orders::{NewHistory, OrderRow};
use crate::events;
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::{InvalidTransition, OrderStatus, PaymentStatus, StockStatus};
use platform::client::Actor;

domain::string_enum! {
    /// Why an order was cancelled (the API's `statusReason`, the event's `CancellationReason`).
    pub enum CancelReason (field = "statusReason") {
        CustomerRequested => "customer_requested",
        OutOfStock => "out_of_stock",
        PendingTimeout => "pending_timeout",
        PaymentFailed => "payment_failed",
        Staff => "staff",
        IdCheckFailed => "id_check_failed",
        Undeliverable => "undeliverable",
    }
}

/// What changes. Unset parts stay as they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct Change<'a> {
    pub status: Option<OrderStatus>,
    pub stock: Option<StockStatus>,
    pub payment: Option<PaymentStatus>,
    /// Required with `status: Cancelled`.
    pub cancel: Option<CancelReason>,
    /// snake_case reason for other statuses (e.g. the payment failure code).
    pub reason: Option<&'a str>,
    /// Free text for staff and the customer.
    pub note: Option<&'a str>,
    /// Who did it; `None` when the system did.
    pub actor: Option<&'a Actor>,
    /// For `delivered`: the kind of ID the driver checked and where they were.
    pub delivery: Option<Delivery>,
}

/// How a delivered order was handed over.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub document: IdDocument,
    pub location: Option<geo::Point>,
}

/// Whether [`apply`] changed the order, or found it already as asked (a repeated event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<ChangeError> for domain::Problem {
    fn from(err: ChangeError) -> Self {
        match err {
            ChangeError::Transition(err) => err.into(),
            ChangeError::Database(err) => err.into(),
        }
    }
}

/// Applies `change` to the locked `order` and announces it. A change that changes nothing is
/// not recorded, so a repeated event is a no-op.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
    change: Change<'_>,
) -> Result<Applied, ChangeError> {
    let previous = order.status;
    let status = match change.status {
        Some(next) if next != previous => previous.transition(next)?,
        _ => previous,
    };
    let stock = change.stock.unwrap_or(order.stock_status);
    let payment = change.payment.unwrap_or(order.payment_status);
    if status == previous && stock == order.stock_status && payment == order.payment_status {
        return Ok(Applied::Unchanged);
    }
    let now = Utc::now();
    let reason = change.cancel.map(CancelReason::as_str).or(change.reason);
    order.status = status;
    order.stock_status = stock;
    order.payment_status = payment;
    order.updated_at = now;
    if status != previous {
        order.status_reason = reason.map(str::to_owned);
        order.status_detail = change.note.map(str::to_owned);
        match status {
            OrderStatus::Confirmed => order.confirmed_at = Some(now),
            OrderStatus::Delivered => order.delivered_at = Some(now),
            OrderStatus::Cancelled => order.cancelled_at = Some(now),
            _ => {}
        }
    }
    db::orders::save(conn, order).await?;
    db::orders::add_history(
        conn,
        NewHistory {
            order_id: order.id,
            status,
            stock_status: stock,
            payment_status: payment,
            reason,
            note: change.note,
            actor_id: change.actor.map(Actor::user_id),
            actor_role: change.actor.map(|a| a.role),
        },
    )
    .await?;
    events::status_changed(conn, order, previous, reason, change.actor, now).await?;
    if status != previous {
        metrics::counter!("orders_transitions_total", "to" => status.as_str()).increment(1);
    }
    match status {
        OrderStatus::Cancelled if previous != OrderStatus::Cancelled => {
            let cancel = change.cancel.unwrap_or(CancelReason::Staff);
            let cancelled = events::Cancelled {
                previous,
                reason: cancel,
                note: change.note,
                actor: change.actor,
                at: now,
            };
            events::order_cancelled(conn, order, &cancelled).await?;
        }
        OrderStatus::Delivered if previous != OrderStatus::Delivered => {
            let items = db::orders::items(conn, order.id).await?;
            events::order_delivered(conn, order, &items, change.delivery, now).await?;
        }
        _ => {}
    }
    Ok(Applied::Changed)
}
