//! Orders' steps of the saga (DESIGN §3): catalog's stock answer and payments' payment answer
//! move a pending order on. Each step locks the order and goes through [`apply`], so a late or
//! repeated answer never moves an order backwards (the inbox already drops exact
//! redeliveries). `events.rs` decodes the answers into a [`Step`].

use super::{Applied, CancelReason, Change, ChangeError, apply};
use crate::db;
use crate::db::orders::OrderRow;
use crate::events;
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::{OrderId, OrderStatus, PaymentStatus, StockStatus};

/// An answer another service gave about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Catalog reserved every line.
    StockReserved,
    /// Catalog could not reserve every line; `shortage` says which ("Blue Dream: 1 of 3
    /// available").
    StockRejected { shortage: String },
    /// Payments charged payment attempt `attempt`.
    Paid { attempt: i32 },
    /// Payments could not charge attempt `attempt`: `code` (snake_case) and the provider's
    /// message.
    PaymentFailed {
        attempt: i32,
        code: &'static str,
        message: String,
    },
    /// The customer must confirm attempt `attempt` (3-D Secure); the order stays pending.
    ActionRequired { attempt: i32 },
    /// Payments refunded the order (`full`: all of it).
    Refunded { full: bool },
}

/// Why a step could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The answer is about an order this deployment never placed.
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
    #[error(transparent)]
    Change(#[from] ChangeError),
}

impl From<diesel::result::Error> for StepError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Change(ChangeError::Database(err))
    }
}

/// Seconds since the order was placed, per saga step (the latency dashboard).
fn observe_step(order: &OrderRow, step: &'static str) {
    let elapsed = (Utc::now() - order.created_at).to_std().unwrap_or_default();
    metrics::histogram!("orders_saga_step_seconds", "step" => step).record(elapsed.as_secs_f64());
}

/// Asks payments to take the payment (the next attempt).
async fn request_payment(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
) -> diesel::QueryResult<()> {
    order.payment_attempt += 1;
    db::orders::save(conn, order).await?;
    events::payment_requested(conn, order).await?;
    Ok(())
}

/// Applies `step` to order `id` in the consumer's transaction.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    id: OrderId,
    step: Step,
) -> Result<Applied, StepError> {
    let Some(mut order) = db::orders::lock(conn, id).await? else {
        return Err(StepError::UnknownOrder(id));
    };
    let pending = order.status == OrderStatus::Pending;
    // Payments may answer attempt 1 before orders asked for it: the guide's client calls
    // `create-intent` right after placing the order, and payments charges the order's first
    // attempt then (and answers a later `order.payment_requested` for it with nothing). Such
    // an answer counts; the attempt is then the customer's, and orders does not ask again.
    let requested = order.payment_attempt;
    let early = |attempt: i32| requested == 0 && attempt == 1;
    let current_attempt = |attempt: i32| attempt == requested || early(attempt);
    let stock_reserved = order.stock_status == StockStatus::Reserved;
    let change = match step {
        Step::StockReserved if pending && order.stock_status == StockStatus::Pending => {
            observe_step(&order, "stock");
            let paid = order.payment_status == PaymentStatus::Succeeded;
            let applied = apply(
                conn,
                &mut order,
                Change {
                    // Paid already (an early answer): nothing else was waiting.
                    status: paid.then_some(OrderStatus::Confirmed),
                    stock: Some(StockStatus::Reserved),
                    ..Change::default()
                },
            )
            .await?;
            if order.payment_attempt == 0 {
                request_payment(conn, &mut order).await?;
            }
            return Ok(applied);
        }
        Step::StockRejected { shortage } if pending => {
            observe_step(&order, "stock");
            return Ok(apply(
                conn,
                &mut order,
                Change {
                    status: Some(OrderStatus::Cancelled),
                    stock: Some(StockStatus::Rejected),
                    cancel: Some(CancelReason::OutOfStock),
                    note: Some(&shortage),
                    ..Change::default()
                },
            )
            .await?);
        }
        Step::Paid { attempt } if current_attempt(attempt) => {
            observe_step(&order, "payment");
            order.payment_attempt = attempt;
            Change {
                // A cancelled order stays cancelled; payments refunds it on
                // `order.cancelled`, and `payment.refunded` follows. Paid before the stock
                // was reserved (an early answer), the stock's answer confirms it.
                status: (pending && stock_reserved).then_some(OrderStatus::Confirmed),
                payment: Some(PaymentStatus::Succeeded),
                ..Change::default()
            }
        }
        Step::PaymentFailed {
            attempt,
            code,
            message,
        } if current_attempt(attempt) && pending => {
            observe_step(&order, "payment");
            order.payment_attempt = attempt;
            return Ok(apply(
                conn,
                &mut order,
                Change {
                    status: Some(OrderStatus::PaymentFailed),
                    payment: Some(PaymentStatus::Failed),
                    reason: Some(code),
                    note: Some(&message),
                    ..Change::default()
                },
            )
            .await?);
        }
        Step::ActionRequired { attempt } if current_attempt(attempt) && pending => {
            order.payment_attempt = attempt;
            Change {
                payment: Some(PaymentStatus::ActionRequired),
                ..Change::default()
            }
        }
        Step::Refunded { full: true } => Change {
            payment: Some(PaymentStatus::Refunded),
            ..Change::default()
        },
        // Late, stale or repeated: the order has moved on.
        _ => return Ok(Applied::Unchanged),
    };
    Ok(apply(conn, &mut order, change).await?)
}
