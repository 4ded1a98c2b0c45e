//! Events to clients: from the event bus (durable events: an order's status) and from a Redis
//! channel services publish on after accepting something (ephemeral: driver locations). Each
//! is emitted to rooms, on every replica (the Redis adapter).
//!
//! [`ROUTES`] is the table of bus events: tracking, chat and notification add theirs
//! (`delivery.eta_updated` → `eta-update`, `support.message_created` → `new-message`,
//! `notification.created` → `notification`) in their own issues, with their bindings in
//! `events.rs`.

use crate::connect::user_room;
use ::events::v1;
use ::events::{Event, HandlerError, IncomingEvent};
use serde_json::{Value, json};
use socketio::SocketIo;

/// One client event to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Emission {
    pub event: &'static str,
    pub rooms: Vec<String>,
    pub payload: Value,
}

/// A bus event and what it becomes.
pub struct Route {
    /// The routing key.
    pub event: &'static str,
    pub emit: fn(&IncomingEvent) -> Result<Vec<Emission>, HandlerError>,
}

pub const ROUTES: &[Route] = &[Route {
    event: v1::OrderStatusChanged::NAME,
    emit: order_status,
}];

/// The row for bus event `name`.
pub fn route(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.event == name)
}

/// The lower-case name of a proto enum value (`ORDER_STATUS_OUT_FOR_DELIVERY` →
/// `out_for_delivery`), as the API spells statuses; `None` for unspecified.
fn status_name(full: &str, prefix: &str) -> Option<String> {
    let name = full.strip_prefix(prefix)?;
    (name != "UNSPECIFIED").then(|| name.to_ascii_lowercase())
}

/// `order.status_changed` → `order-status` to the customer's room and the order's.
fn order_status(event: &IncomingEvent) -> Result<Vec<Emission>, HandlerError> {
    let changed: v1::OrderStatusChanged = event.decode()?;
    if uuid::Uuid::parse_str(&changed.order_id).is_err()
        || uuid::Uuid::parse_str(&changed.customer_id).is_err()
    {
        return Err(HandlerError::Permanent(
            "order.status_changed without an order or customer id".into(),
        ));
    }
    let status = |value: i32| {
        v1::OrderStatus::try_from(value)
            .ok()
            .and_then(|status| status_name(status.as_str_name(), "ORDER_STATUS_"))
    };
    let payload = json!({
        "orderId": changed.order_id,
        "orderNumber": changed.order_number,
        "status": status(changed.status),
        "previousStatus": status(changed.previous_status),
        "stockStatus": v1::StockStatus::try_from(changed.stock_status)
            .ok()
            .and_then(|s| status_name(s.as_str_name(), "STOCK_STATUS_")),
        "paymentStatus": v1::PaymentStatus::try_from(changed.payment_status)
            .ok()
            .and_then(|s| status_name(s.as_str_name(), "PAYMENT_STATUS_")),
        "reason": (!changed.reason.is_empty()).then_some(changed.reason),
        "changedAt": changed
            .changed_at
            .and_then(::events::from_timestamp)
            .map(|at| at.to_rfc3339()),
    });
    Ok(vec![Emission {
        event: "order-status",
        rooms: vec![
            user_room(&changed.customer_id),
            format!("order:{}", changed.order_id),
        ],
        payload,
    }])
}

/// Emits `emissions` through `io` (every replica).
pub fn emit(io: &SocketIo, emissions: &[Emission]) {
    for emission in emissions {
        let mut broadcast = io.broadcast("/");
        for room in &emission.rooms {
            broadcast = broadcast.to(room.clone());
        }
        broadcast.emit(emission.event, std::slice::from_ref(&emission.payload));
        metrics::counter!("realtime_events_out_total", "event" => emission.event).increment(1);
    }
}

/// Client event names services may publish on the ephemeral channel. Others are dropped (and
/// counted), so a mistake in a service cannot send clients arbitrary events.
pub const EPHEMERAL_EVENTS: &[&str] = &["driver-location", "eta-update"];

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_status_change_goes_to_the_customer_and_the_order() {
        let order = "0190f1c4-7b2a-7000-8000-000000000001";
        let customer = "0190f1c4-7b2a-7000-8000-000000000002";
        let message = v1::OrderStatusChanged {
            order_id: order.into(),
            order_number: "FS-1001".into(),
            customer_id: customer.into(),
            previous_status: v1::OrderStatus::Preparing as i32,
            status: v1::OrderStatus::OutForDelivery as i32,
            stock_status: v1::StockStatus::Reserved as i32,
            payment_status: v1::PaymentStatus::Succeeded as i32,
            ..Default::default()
        };
        let event = IncomingEvent {
            id: uuid::Uuid::now_v7(),
            name: "order.status_changed".into(),
            message_type: Some(v1::OrderStatusChanged::TYPE.into()),
            correlation_id: None,
            producer: Some("orders".into()),
            attempts: 0,
            payload: message.encode_to_vec(),
        };
        let emissions = (route("order.status_changed").unwrap().emit)(&event).unwrap();
        assert_eq!(emissions.len(), 1);
        let emission = &emissions[0];
        assert_eq!(emission.event, "order-status");
        assert_eq!(
            emission.rooms,
            [format!("user:{customer}"), format!("order:{order}")]
        );
        assert_eq!(emission.payload["status"], "out_for_delivery");
        assert_eq!(emission.payload["previousStatus"], "preparing");
        assert_eq!(emission.payload["stockStatus"], "reserved");
        assert_eq!(emission.payload["paymentStatus"], "succeeded");
        assert_eq!(emission.payload["reason"], Value::Null);

        let garbage = IncomingEvent {
            payload: vec![0xff, 0xff],
            ..event
        };
        assert!(matches!(
            (route("order.status_changed").unwrap().emit)(&garbage),
            Err(HandlerError::Permanent(_))
        ));
    }
}
