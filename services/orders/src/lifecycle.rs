//! Every change of an order's status, stock status or payment status goes through [`apply`]:
//! it asks the transition table in `crates/domain`, records the history entry and publishes
//! `order.status_changed` (plus `order.cancelled` or `order.delivered` when the order ends
//! there) through the outbox, in the caller's transaction, with the order row locked.

use crate::db;
use crate::db::orders::{NewHistory, OrderRow};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::{InvalidTransition, OrderStatus, PaymentStatus, StockStatus};
use events::audit::{Actor, proto_role};
use events::outbox::publish;
use events::{timestamp, v1};

/// Why an order was cancelled (the API's `statusReason`, proto `CancellationReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    CustomerRequested,
    OutOfStock,
    PendingTimeout,
    PaymentFailed,
    Staff,
    IdCheckFailed,
    Undeliverable,
}

impl CancelReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CustomerRequested => "customer_requested",
            Self::OutOfStock => "out_of_stock",
            Self::PendingTimeout => "pending_timeout",
            Self::PaymentFailed => "payment_failed",
            Self::Staff => "staff",
            Self::IdCheckFailed => "id_check_failed",
            Self::Undeliverable => "undeliverable",
        }
    }

    const fn to_proto(self) -> v1::CancellationReason {
        match self {
            Self::CustomerRequested => v1::CancellationReason::CustomerRequested,
            Self::OutOfStock => v1::CancellationReason::OutOfStock,
            Self::PendingTimeout => v1::CancellationReason::PendingTimeout,
            Self::PaymentFailed => v1::CancellationReason::PaymentFailed,
            Self::Staff => v1::CancellationReason::Staff,
            Self::IdCheckFailed => v1::CancellationReason::IdCheckFailed,
            Self::Undeliverable => v1::CancellationReason::Undeliverable,
        }
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

#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub document: v1::IdDocumentType,
    pub location: Option<geo::Point>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub fn status_of(order: &OrderRow) -> OrderStatus {
    order.status.parse().unwrap_or(OrderStatus::Pending)
}

pub fn stock_of(order: &OrderRow) -> StockStatus {
    order.stock_status.parse().unwrap_or(StockStatus::Pending)
}

pub fn payment_of(order: &OrderRow) -> PaymentStatus {
    order
        .payment_status
        .parse()
        .unwrap_or(PaymentStatus::Pending)
}

const fn proto_status(status: OrderStatus) -> v1::OrderStatus {
    match status {
        OrderStatus::Pending => v1::OrderStatus::Pending,
        OrderStatus::Confirmed => v1::OrderStatus::Confirmed,
        OrderStatus::Preparing => v1::OrderStatus::Preparing,
        OrderStatus::OutForDelivery => v1::OrderStatus::OutForDelivery,
        OrderStatus::Delivered => v1::OrderStatus::Delivered,
        OrderStatus::Cancelled => v1::OrderStatus::Cancelled,
        OrderStatus::PaymentFailed => v1::OrderStatus::PaymentFailed,
    }
}

const fn proto_stock(status: StockStatus) -> v1::StockStatus {
    match status {
        StockStatus::Pending => v1::StockStatus::Pending,
        StockStatus::Reserved => v1::StockStatus::Reserved,
        StockStatus::Rejected => v1::StockStatus::Rejected,
    }
}

const fn proto_payment(status: PaymentStatus) -> v1::PaymentStatus {
    match status {
        PaymentStatus::Pending => v1::PaymentStatus::Pending,
        PaymentStatus::Succeeded => v1::PaymentStatus::Succeeded,
        PaymentStatus::Failed => v1::PaymentStatus::Failed,
        PaymentStatus::Refunded => v1::PaymentStatus::Refunded,
        PaymentStatus::ActionRequired => v1::PaymentStatus::ActionRequired,
    }
}

/// Applies `change` to the locked `order` and announces it. A change that changes nothing is
/// not recorded (a repeated event is then a no-op).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    order: &mut OrderRow,
    change: Change<'_>,
) -> Result<bool, ChangeError> {
    let previous = status_of(order);
    let status = match change.status {
        Some(next) if next != previous => previous.transition(next)?,
        _ => previous,
    };
    let stock = change.stock.unwrap_or_else(|| stock_of(order));
    let payment = change.payment.unwrap_or_else(|| payment_of(order));
    if status == previous && stock == stock_of(order) && payment == payment_of(order) {
        return Ok(false);
    }
    let now = Utc::now();
    let reason = change.cancel.map(CancelReason::as_str).or(change.reason);
    order.status = status.as_str().to_owned();
    order.stock_status = stock.as_str().to_owned();
    order.payment_status = payment.as_str().to_owned();
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
            status: status.as_str(),
            stock_status: stock.as_str(),
            payment_status: payment.as_str(),
            reason,
            note: change.note,
            actor_id: change.actor.map(|a| a.id),
            actor_role: change.actor.map(|a| a.role.as_str()),
        },
    )
    .await?;

    let correlation = order.id.to_string();
    let (actor_id, actor_role) = change
        .actor
        .map_or((String::new(), v1::Role::Unspecified), |a| {
            (a.id.to_string(), proto_role(a.role))
        });
    let driver_id = order.driver_id.map(|d| d.to_string()).unwrap_or_default();
    publish(
        conn,
        &v1::OrderStatusChanged {
            order_id: correlation.clone(),
            order_number: order.order_number.clone(),
            customer_id: order.customer_id.to_string(),
            driver_id: driver_id.clone(),
            previous_status: proto_status(previous) as i32,
            status: proto_status(status) as i32,
            stock_status: proto_stock(stock) as i32,
            payment_status: proto_payment(payment) as i32,
            reason: reason.unwrap_or_default().to_owned(),
            actor_id: actor_id.clone(),
            actor_role: actor_role as i32,
            changed_at: Some(timestamp(now)),
        },
        Some(&correlation),
    )
    .await?;
    if status != previous {
        metrics::counter!("orders_transitions_total", "to" => status.as_str()).increment(1);
    }
    match status {
        OrderStatus::Cancelled if previous != OrderStatus::Cancelled => {
            let cancel = change.cancel.unwrap_or(CancelReason::Staff);
            publish(
                conn,
                &v1::OrderCancelled {
                    order_id: correlation.clone(),
                    order_number: order.order_number.clone(),
                    customer_id: order.customer_id.to_string(),
                    driver_id,
                    previous_status: proto_status(previous) as i32,
                    reason: cancel.to_proto() as i32,
                    reason_detail: change.note.unwrap_or_default().to_owned(),
                    stock_status: proto_stock(stock) as i32,
                    payment_status: proto_payment(payment) as i32,
                    actor_id,
                    actor_role: actor_role as i32,
                    cancelled_at: Some(timestamp(now)),
                },
                Some(&correlation),
            )
            .await?;
        }
        OrderStatus::Delivered if previous != OrderStatus::Delivered => {
            let items = db::orders::items(conn, order.id).await?;
            let delivery = change.delivery;
            publish(
                conn,
                &v1::OrderDelivered {
                    order_id: correlation.clone(),
                    order_number: order.order_number.clone(),
                    customer_id: order.customer_id.to_string(),
                    driver_id,
                    lines: items.iter().map(line).collect(),
                    total_cents: order.total_cents,
                    id_checked: true,
                    id_document_type: delivery
                        .map_or(v1::IdDocumentType::Unspecified, |d| d.document)
                        as i32,
                    delivery_location: delivery.and_then(|d| d.location).map(|p| v1::GeoPoint {
                        latitude: p.latitude(),
                        longitude: p.longitude(),
                    }),
                    delivered_at: Some(timestamp(now)),
                },
                Some(&correlation),
            )
            .await?;
        }
        _ => {}
    }
    Ok(true)
}

/// An item snapshot as an event line.
pub fn line(item: &db::orders::ItemRow) -> v1::OrderLine {
    v1::OrderLine {
        product_id: item.product_id.to_string(),
        product_name: item.product_name.clone(),
        product_type: crate::products::proto_type(&item.product_type) as i32,
        quantity: item.quantity,
        unit_price_cents: item.unit_price_cents,
        line_total_cents: item.line_total_cents,
        net_weight_mg: item.net_weight_mg,
        thc_mg: item.thc_mg,
    }
}
