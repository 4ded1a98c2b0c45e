//! What payments publishes and consumes (DESIGN §4), in one place.
//!
//! - Consumes, on the queue [`ORDERS_QUEUE`]: `order.submitted` (the order read model),
//!   `order.payment_requested` (charge: [`crate::charge`]), `order.cancelled` (refund:
//!   [`crate::refunds::on_cancelled`]) and `order.delivered` (reward points:
//!   [`crate::ledger::earn_for_delivery`]). Each handler runs in the inbox transaction, so a
//!   redelivered event changes nothing.
//! - Publishes, through the outbox in the caller's transaction, one function per event:
//!   [`payment_succeeded`], [`payment_failed`], [`payment_action_required`],
//!   [`payment_refunded`], [`rewards_changed`] (and `audit.recorded` through
//!   `::events::audit::record`).

use crate::charge::{self, Confirmation, PayError, PaymentOrder};
use crate::db;
use crate::db::payments::{PaidWith, PaymentRow, PaymentStatus};
use crate::db::rewards::EntryRow;
use crate::ledger;
use crate::provider::PaymentProvider;
use crate::refunds;
use crate::rewards::EntryKind;
use ::events::outbox::publish;
use ::events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::{Money, OrderId, PaymentMethodId, UserId};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use uuid::Uuid;

/// The queue payments consumes, and what it is bound to.
pub const ORDERS_QUEUE: &str = "payments.orders";
pub const ORDERS_BINDINGS: &[&str] = &[
    "order.submitted",
    "order.payment_requested",
    "order.cancelled",
    "order.delivered",
];

fn uuid(field: &str, value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent(format!("{field} is not a UUID")))
}

const fn method_type(value: PaidWith) -> v1::PaymentMethodType {
    match value {
        PaidWith::Card => v1::PaymentMethodType::Card,
        PaidWith::ApplePay => v1::PaymentMethodType::ApplePay,
        PaidWith::GooglePay => v1::PaymentMethodType::GooglePay,
        PaidWith::FsCoin => v1::PaymentMethodType::FsCoin,
    }
}

/// The actor of a change that arrived by event (its proto role), for the audit log.
pub fn role(role: i32) -> domain::Role {
    match v1::Role::try_from(role) {
        Ok(v1::Role::Admin) => domain::Role::Admin,
        Ok(v1::Role::Agent) => domain::Role::Agent,
        Ok(v1::Role::Driver) => domain::Role::Driver,
        _ => domain::Role::Customer,
    }
}

/// `payment.succeeded`.
pub async fn payment_succeeded(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_total", "outcome" => "succeeded", "method" => payment.method_type.as_str()).increment(1);
    let event = v1::PaymentSucceeded {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        customer_id: payment.customer_id.to_string(),
        attempt: payment.attempt,
        amount_cents: payment.card_amount_cents,
        points_redeemed: payment.points_redeemed,
        total_cents: payment.total_cents,
        payment_method_type: method_type(payment.method_type) as i32,
        card_brand: payment.card_brand.clone().unwrap_or_default(),
        card_last4: payment.card_last4.clone().unwrap_or_default(),
        provider: payment.provider.clone().unwrap_or_default(),
        provider_payment_id: payment.provider_payment_id.clone().unwrap_or_default(),
        succeeded_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

/// `payment.failed`, with the points given back.
pub async fn payment_failed(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    reason: v1::PaymentFailureReason,
    points_restored: i64,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_total", "outcome" => "failed", "method" => payment.method_type.as_str()).increment(1);
    let decline = payment.decline_code.clone().unwrap_or_default();
    let event = v1::PaymentFailed {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        customer_id: payment.customer_id.to_string(),
        attempt: payment.attempt,
        amount_cents: payment.card_amount_cents,
        reason: reason as i32,
        provider_error_code: if decline.is_empty() {
            String::new()
        } else {
            "card_declined".into()
        },
        decline_code: decline,
        message: payment.failure_message.clone().unwrap_or_default(),
        retryable: reason != v1::PaymentFailureReason::ProviderError,
        points_restored,
        provider: payment.provider.clone().unwrap_or_default(),
        provider_payment_id: payment.provider_payment_id.clone().unwrap_or_default(),
        failed_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

/// `payment.action_required`: the customer must confirm (3-D Secure) with `client_secret`.
pub async fn payment_action_required(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    client_secret: &str,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_total", "outcome" => "requires_action", "method" => payment.method_type.as_str()).increment(1);
    let event = v1::PaymentActionRequired {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        customer_id: payment.customer_id.to_string(),
        attempt: payment.attempt,
        amount_cents: payment.card_amount_cents,
        client_secret: client_secret.to_owned(),
        next_action_type: "use_stripe_sdk".into(),
        redirect_url: String::new(),
        provider: payment.provider.clone().unwrap_or_default(),
        provider_payment_id: payment.provider_payment_id.clone().unwrap_or_default(),
        requested_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

/// One refund, as `payment.refunded` announces it.
#[derive(Debug, Clone, Copy)]
pub struct Refunded<'a> {
    pub refund_id: Option<Uuid>,
    pub amount_cents: i64,
    pub points: i64,
    pub reason: v1::RefundReason,
    pub actor: Option<UserId>,
    pub provider_refund_id: Option<&'a str>,
}

/// `payment.refunded` (`payment` as it is after the refund).
pub async fn payment_refunded(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    refund: Refunded<'_>,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_refunded_cents_total")
        .increment(u64::try_from(refund.amount_cents).unwrap_or(0));
    let event = v1::PaymentRefunded {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        refund_id: refund
            .refund_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        customer_id: payment.customer_id.to_string(),
        amount_cents: refund.amount_cents,
        points_restored: refund.points,
        fully_refunded: payment.status == PaymentStatus::Refunded,
        reason: refund.reason as i32,
        note: String::new(),
        actor_id: refund.actor.map(|id| id.to_string()).unwrap_or_default(),
        provider: payment.provider.clone().unwrap_or_default(),
        provider_refund_id: refund.provider_refund_id.unwrap_or_default().to_owned(),
        refunded_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

/// `rewards.changed`: one ledger entry of `kind`.
pub async fn rewards_changed(
    conn: &mut AsyncPgConnection,
    entry: &EntryRow,
    kind: EntryKind,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_rewards_entries_total", "kind" => kind.as_str()).increment(1);
    let event = v1::RewardsChanged {
        user_id: entry.user_id.to_string(),
        transaction_id: entry.id.to_string(),
        sequence: entry.sequence,
        kind: kind.to_proto() as i32,
        points_delta: entry.points,
        balance_points: entry.balance_after,
        order_id: entry.order_id.map(|id| id.to_string()).unwrap_or_default(),
        description: entry.description.clone(),
        actor_id: entry.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        occurred_at: Some(timestamp(entry.created_at)),
    };
    publish(conn, &event, Some(&entry.user_id.to_string())).await
}

/// The consumer of [`ORDERS_QUEUE`].
pub struct OrderEvents {
    pub provider: Arc<dyn PaymentProvider>,
}

impl OrderEvents {
    async fn submitted(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let submitted: v1::OrderSubmitted = event.decode()?;
        let order = db::orders::OrderRow {
            order_id: OrderId::from(uuid("order_id", &submitted.order_id)?),
            order_number: submitted.order_number,
            customer_id: UserId::from(uuid("customer_id", &submitted.customer_id)?),
            total_cents: submitted.total_cents.max(0),
            points_to_redeem: submitted.points_to_redeem.max(0),
            payment_method_id: Uuid::parse_str(&submitted.payment_method_id)
                .ok()
                .map(PaymentMethodId::from),
            cancelled: false,
        };
        db::orders::upsert(conn, &order).await?;
        Ok(())
    }

    async fn payment_requested(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let request: v1::OrderPaymentRequested = event.decode()?;
        let order = PaymentOrder {
            order_id: OrderId::from(uuid("order_id", &request.order_id)?),
            order_number: request.order_number,
            customer_id: UserId::from(uuid("customer_id", &request.customer_id)?),
            total: Money::from_cents(request.total_cents)
                .ok_or_else(|| HandlerError::Permanent("a negative total".into()))?,
            points_to_redeem: request.points_to_redeem,
            method: Uuid::parse_str(&request.payment_method_id)
                .ok()
                .map(PaymentMethodId::from),
            attempt: request.attempt.max(1),
            confirmation: Confirmation::Now,
        };
        match charge::pay(conn, self.provider.as_ref(), &order).await {
            Ok(_) => Ok(()),
            // Rolled back with the redemption; the event comes back later.
            Err(PayError::Unavailable(err)) => Err(HandlerError::Transient(err)),
            Err(PayError::Database(err)) => Err(err.into()),
        }
    }

    async fn cancelled(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let cancelled: v1::OrderCancelled = event.decode()?;
        let order_id = OrderId::from(uuid("order_id", &cancelled.order_id)?);
        let actor = (
            Uuid::parse_str(&cancelled.actor_id).ok().map(UserId::from),
            role(cancelled.actor_role),
        );
        refunds::on_cancelled(conn, self.provider.as_ref(), order_id, actor).await
    }

    async fn delivered(
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let delivered: v1::OrderDelivered = event.decode()?;
        let order_id = OrderId::from(uuid("order_id", &delivered.order_id)?);
        ledger::earn_for_delivery(conn, order_id, &delivered.order_number).await?;
        Ok(())
    }
}

impl Handler for OrderEvents {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            match event.name.as_str() {
                "order.submitted" => Self::submitted(conn, event).await,
                "order.payment_requested" => self.payment_requested(conn, event).await,
                "order.cancelled" => self.cancelled(conn, event).await,
                "order.delivered" => Self::delivered(conn, event).await,
                other => Err(HandlerError::Permanent(format!(
                    "payments does not handle {other}"
                ))),
            }
        })
    }
}
