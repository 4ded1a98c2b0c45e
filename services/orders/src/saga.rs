//! Orders' steps of the saga (DESIGN §3): the stock answer from catalog and the payment
//! answer from payments move a pending order on. Every handler locks the order and goes
//! through `lifecycle::apply`, so a late or repeated event never moves an order backwards
//! (the inbox already drops exact redeliveries).

use crate::db;
use crate::db::orders::OrderRow;
use crate::lifecycle::{self, CancelReason, Change};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::{OrderStatus, PaymentStatus, StockStatus};
use events::outbox::publish;
use events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
use futures_util::future::BoxFuture;
use uuid::Uuid;

pub const SAGA_QUEUE: &str = "orders.saga";
pub const SAGA_BINDINGS: &[&str] = &[
    "stock.reserved",
    "stock.rejected",
    "payment.succeeded",
    "payment.failed",
    "payment.action_required",
    "payment.refunded",
];

fn uuid(value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent("order_id is not a UUID".into()))
}

/// Seconds since the order was placed, per saga step (the latency dashboard).
fn observe_step(order: &OrderRow, step: &'static str) {
    let elapsed = (Utc::now() - order.created_at).to_std().unwrap_or_default();
    metrics::histogram!("orders_saga_step_seconds", "step" => step).record(elapsed.as_secs_f64());
}

/// Asks payments to take the payment (the next attempt).
pub async fn request_payment(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
) -> diesel::QueryResult<()> {
    order.payment_attempt += 1;
    db::orders::save(conn, order).await?;
    let id = order.id.to_string();
    publish(
        conn,
        &v1::OrderPaymentRequested {
            order_id: id.clone(),
            order_number: order.order_number.clone(),
            customer_id: order.customer_id.to_string(),
            total_cents: order.total_cents,
            points_to_redeem: order.points_to_redeem,
            payment_method_id: order
                .payment_method_id
                .map(|m| m.to_string())
                .unwrap_or_default(),
            attempt: order.payment_attempt,
            requested_at: Some(timestamp(Utc::now())),
        },
        Some(&id),
    )
    .await?;
    Ok(())
}

fn failure_code(reason: i32) -> &'static str {
    match v1::PaymentFailureReason::try_from(reason) {
        Ok(v1::PaymentFailureReason::CardDeclined) => "card_declined",
        Ok(v1::PaymentFailureReason::AuthenticationFailed) => "authentication_failed",
        Ok(v1::PaymentFailureReason::InsufficientPoints) => "insufficient_points",
        Ok(v1::PaymentFailureReason::PaymentMethodUnavailable) => "payment_method_unavailable",
        Ok(v1::PaymentFailureReason::ProviderError) => "provider_error",
        _ => "payment_failed",
    }
}

pub struct SagaEvents;

impl SagaEvents {
    async fn apply(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let (order_id, step) = match event.name.as_str() {
            "stock.reserved" => (
                event.decode::<v1::StockReserved>()?.order_id,
                Step::Reserved,
            ),
            "stock.rejected" => {
                let e: v1::StockRejected = event.decode()?;
                (e.order_id.clone(), Step::Rejected(e))
            }
            "payment.succeeded" => {
                let e: v1::PaymentSucceeded = event.decode()?;
                (e.order_id, Step::Paid { attempt: e.attempt })
            }
            "payment.failed" => {
                let e: v1::PaymentFailed = event.decode()?;
                (e.order_id.clone(), Step::Failed(e))
            }
            "payment.action_required" => {
                let e: v1::PaymentActionRequired = event.decode()?;
                (e.order_id, Step::ActionRequired { attempt: e.attempt })
            }
            "payment.refunded" => {
                let e: v1::PaymentRefunded = event.decode()?;
                (
                    e.order_id,
                    Step::Refunded {
                        full: e.fully_refunded,
                    },
                )
            }
            other => {
                return Err(HandlerError::Permanent(format!(
                    "orders' saga does not handle {other}"
                )));
            }
        };
        let Some(mut order) = db::orders::lock(conn, uuid(&order_id)?).await? else {
            // Orders publishes `order.submitted` in the order's own transaction, so an answer
            // for an unknown order is not ours (another deployment on the exchange).
            return Err(HandlerError::Permanent(format!("unknown order {order_id}")));
        };
        let status = lifecycle::status_of(&order);
        let pending = status == OrderStatus::Pending;
        let current_attempt = |attempt: i32| attempt == order.payment_attempt;
        let change = match step {
            Step::Reserved if pending && lifecycle::stock_of(&order) == StockStatus::Pending => {
                observe_step(&order, "stock");
                lifecycle::apply(
                    conn,
                    &mut order,
                    Change {
                        stock: Some(StockStatus::Reserved),
                        ..Change::default()
                    },
                )
                .await
                .map_err(permanent)?;
                request_payment(conn, &mut order).await?;
                return Ok(());
            }
            Step::Rejected(rejected) if pending => {
                observe_step(&order, "stock");
                let note = shortage_note(&rejected);
                return lifecycle::apply(
                    conn,
                    &mut order,
                    Change {
                        status: Some(OrderStatus::Cancelled),
                        stock: Some(StockStatus::Rejected),
                        cancel: Some(CancelReason::OutOfStock),
                        note: Some(&note),
                        ..Change::default()
                    },
                )
                .await
                .map(drop)
                .map_err(permanent);
            }
            Step::Paid { attempt } if current_attempt(attempt) => {
                observe_step(&order, "payment");
                Change {
                    // A cancelled order stays cancelled; payments refunds it on
                    // `order.cancelled`, and `payment.refunded` follows.
                    status: pending.then_some(OrderStatus::Confirmed),
                    payment: Some(PaymentStatus::Succeeded),
                    ..Change::default()
                }
            }
            Step::Failed(failed) if current_attempt(failed.attempt) && pending => {
                observe_step(&order, "payment");
                let code = failure_code(failed.reason);
                return lifecycle::apply(
                    conn,
                    &mut order,
                    Change {
                        status: Some(OrderStatus::PaymentFailed),
                        payment: Some(PaymentStatus::Failed),
                        reason: Some(code),
                        note: Some(&failed.message),
                        ..Change::default()
                    },
                )
                .await
                .map(drop)
                .map_err(permanent);
            }
            Step::ActionRequired { attempt } if current_attempt(attempt) && pending => Change {
                payment: Some(PaymentStatus::ActionRequired),
                ..Change::default()
            },
            Step::Refunded { full: true } => Change {
                payment: Some(PaymentStatus::Refunded),
                ..Change::default()
            },
            // Late, stale or repeated: the order has moved on.
            _ => return Ok(()),
        };
        lifecycle::apply(conn, &mut order, change)
            .await
            .map(drop)
            .map_err(permanent)
    }
}

enum Step {
    Reserved,
    Rejected(v1::StockRejected),
    Paid { attempt: i32 },
    Failed(v1::PaymentFailed),
    ActionRequired { attempt: i32 },
    Refunded { full: bool },
}

fn permanent(err: lifecycle::ChangeError) -> HandlerError {
    match err {
        lifecycle::ChangeError::Database(err) => err.into(),
        other => HandlerError::Permanent(other.to_string()),
    }
}

/// "Blue Dream: 1 of 3 available" for each short line.
fn shortage_note(rejected: &v1::StockRejected) -> String {
    rejected
        .short_lines
        .iter()
        .map(|line| {
            format!(
                "{}: {} of {} available",
                line.product_name, line.available_quantity, line.requested_quantity
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Handler for SagaEvents {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(Self::apply(conn, event))
    }
}
