//! The saga's payment step (DESIGN §3): `order.payment_requested` redeems the points and
//! charges the rest with the order (and attempt) as the provider's idempotency key;
//! `order.cancelled` refunds and gives the points back; `order.delivered` credits the points
//! the card payment earned. Provider webhooks settle payments that waited for the customer.
//! Every handler runs in the inbox transaction, so a redelivered event changes nothing.

use crate::db;
use crate::db::payments::{NewPayment, NewRefund, PaymentRow};
use crate::ledger::{self, Change, Outcome};
use crate::provider::{IntentRequest, IntentStatus, PaymentProvider, ProviderError};
use crate::rewards::{self, EntryKind};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use domain::Money;
use events::outbox::publish;
use events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
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

fn method_type(value: &str) -> v1::PaymentMethodType {
    match value {
        "card" => v1::PaymentMethodType::Card,
        "apple_pay" => v1::PaymentMethodType::ApplePay,
        "google_pay" => v1::PaymentMethodType::GooglePay,
        "fs_coin" => v1::PaymentMethodType::FsCoin,
        _ => v1::PaymentMethodType::Unspecified,
    }
}

pub async fn succeeded(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_total", "outcome" => "succeeded", "method" => payment.method_type.clone()).increment(1);
    let event = v1::PaymentSucceeded {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        customer_id: payment.customer_id.to_string(),
        attempt: payment.attempt,
        amount_cents: payment.card_amount_cents,
        points_redeemed: payment.points_redeemed,
        total_cents: payment.total_cents,
        payment_method_type: method_type(&payment.method_type) as i32,
        card_brand: payment.card_brand.clone().unwrap_or_default(),
        card_last4: payment.card_last4.clone().unwrap_or_default(),
        provider: payment.provider.clone().unwrap_or_default(),
        provider_payment_id: payment.provider_payment_id.clone().unwrap_or_default(),
        succeeded_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

pub async fn failed(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    reason: v1::PaymentFailureReason,
    points_restored: i64,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_total", "outcome" => "failed", "method" => payment.method_type.clone()).increment(1);
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

/// Gives back the points a payment redeemed (once per order).
pub async fn restore_points(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    why: &str,
) -> diesel::QueryResult<i64> {
    if payment.points_redeemed == 0 {
        return Ok(0);
    }
    let change = Change {
        user_id: payment.customer_id,
        kind: EntryKind::Restored,
        points: payment.points_redeemed,
        order_id: Some(payment.order_id),
        description: why,
        actor_id: None,
        reference: Some(ledger::reference(
            payment.order_id,
            Some(payment.attempt),
            EntryKind::Restored,
        )),
    };
    Ok(match ledger::apply(conn, &change).await? {
        Outcome::Applied(_) => payment.points_redeemed,
        _ => 0,
    })
}

/// A payment that cannot be made, recorded as failed with the points given back.
async fn refuse(
    conn: &mut AsyncPgConnection,
    payment: NewPayment<'_>,
    reason: v1::PaymentFailureReason,
) -> Result<PaymentRow, PayError> {
    let row = db::payments::insert(conn, payment).await?;
    let restored = restore_points(conn, &row, "Payment failed: points returned").await?;
    failed(conn, &row, reason, restored).await?;
    Ok(row)
}

pub struct OrderEvents {
    pub provider: Arc<dyn PaymentProvider>,
}

impl OrderEvents {
    async fn charge(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let request: v1::OrderPaymentRequested = event.decode()?;
        let order = PaymentOrder {
            order_id: uuid("order_id", &request.order_id)?,
            order_number: request.order_number,
            customer_id: uuid("customer_id", &request.customer_id)?,
            total: Money::from_cents(request.total_cents)
                .ok_or_else(|| HandlerError::Permanent("a negative total".into()))?,
            points_to_redeem: request.points_to_redeem,
            method: Uuid::parse_str(&request.payment_method_id).ok(),
            attempt: request.attempt.max(1),
            confirm: true,
        };
        match pay(conn, self.provider.as_ref(), &order).await {
            Ok(_) => Ok(()),
            // Rolled back with the redemption; the event comes back later.
            Err(PayError::Unavailable(err)) => Err(HandlerError::Transient(err)),
            Err(PayError::Database(err)) => Err(err.into()),
        }
    }

    /// Refunds what is left of an order's payment and gives its points back.
    async fn cancelled(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let cancelled: v1::OrderCancelled = event.decode()?;
        let order_id = uuid("order_id", &cancelled.order_id)?;
        db::orders::cancel(conn, order_id).await?;
        let Some(payment) = db::payments::lock_latest_for_order(conn, order_id).await? else {
            return Ok(());
        };
        match payment.status.as_str() {
            "succeeded" => {
                refund(
                    conn,
                    self.provider.as_ref(),
                    &payment,
                    payment.refundable_cents(),
                    RefundBy::Cancellation,
                )
                .await
                .map_err(|err| match err {
                    RefundError::Provider(ProviderError::Unavailable(e)) => {
                        HandlerError::Transient(e)
                    }
                    other => HandlerError::Permanent(other.to_string()),
                })?;
                let actor = events::audit::Actor {
                    id: Uuid::parse_str(&cancelled.actor_id).unwrap_or(payment.customer_id),
                    role: match v1::Role::try_from(cancelled.actor_role) {
                        Ok(v1::Role::Admin) => domain::Role::Admin,
                        Ok(v1::Role::Agent) => domain::Role::Agent,
                        Ok(v1::Role::Driver) => domain::Role::Driver,
                        _ => domain::Role::Customer,
                    },
                    ip: None,
                    user_agent: None,
                };
                events::audit::record(
                    conn,
                    crate::config::SERVICE,
                    &actor,
                    "payment.refunded",
                    ("payment", payment.id),
                    &serde_json::json!({
                        "orderId": order_id,
                        "amountCents": payment.refundable_cents(),
                        "pointsRestored": payment.points_redeemed,
                        "reason": "order_cancelled",
                    }),
                )
                .await?;
            }
            "requires_action" => {
                if let Some(intent) = &payment.provider_payment_id {
                    self.provider
                        .cancel_payment_intent(intent)
                        .await
                        .map_err(|e| HandlerError::Transient(e.to_string()))?;
                }
                let row = db::payments::settle(
                    conn,
                    payment.id,
                    "failed",
                    None,
                    Some("The order was cancelled."),
                )
                .await?;
                let restored =
                    restore_points(conn, &row, "Order cancelled: points returned").await?;
                if restored > 0 {
                    let row = db::payments::add_refund(conn, row.id, 0, restored).await?;
                    refunded_event(
                        conn,
                        &row,
                        None,
                        0,
                        restored,
                        v1::RefundReason::OrderCancelled,
                        None,
                        None,
                    )
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Credits the points the card payment earned.
    async fn delivered(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let delivered: v1::OrderDelivered = event.decode()?;
        let order_id = uuid("order_id", &delivered.order_id)?;
        let Some(payment) = db::payments::lock_latest_for_order(conn, order_id).await? else {
            return Ok(());
        };
        if payment.status != "succeeded" {
            return Ok(());
        }
        let paid = Money::from_cents(payment.card_amount_cents - payment.refunded_cents)
            .unwrap_or(Money::ZERO);
        let points = rewards::earned_for(paid);
        if points > 0 {
            let change = Change {
                user_id: payment.customer_id,
                kind: EntryKind::Earned,
                points,
                order_id: Some(order_id),
                reference: Some(ledger::reference(order_id, None, EntryKind::Earned)),
                description: &format!("Purchase reward, order {}", delivered.order_number),
                actor_id: None,
            };
            ledger::apply(conn, &change).await?;
        }
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
                "order.submitted" => {
                    let submitted: v1::OrderSubmitted = event.decode()?;
                    let order = db::orders::OrderRow {
                        order_id: uuid("order_id", &submitted.order_id)?,
                        order_number: submitted.order_number,
                        customer_id: uuid("customer_id", &submitted.customer_id)?,
                        total_cents: submitted.total_cents.max(0),
                        points_to_redeem: submitted.points_to_redeem.max(0),
                        payment_method_id: Uuid::parse_str(&submitted.payment_method_id).ok(),
                        cancelled: false,
                    };
                    db::orders::upsert(conn, &order).await?;
                    Ok(())
                }
                "order.payment_requested" => self.charge(conn, event).await,
                "order.cancelled" => self.cancelled(conn, event).await,
                "order.delivered" => self.delivered(conn, event).await,
                other => Err(HandlerError::Permanent(format!(
                    "payments does not handle {other}"
                ))),
            }
        })
    }
}

/// A payment to make for an order.
#[derive(Debug, Clone)]
pub struct PaymentOrder {
    pub order_id: Uuid,
    pub order_number: String,
    pub customer_id: Uuid,
    pub total: Money,
    pub points_to_redeem: i64,
    /// The saved method to charge; the primary one when `None`.
    pub method: Option<Uuid>,
    pub attempt: i32,
    /// Charge now (the saga), or leave confirmation to the client (`create-intent`).
    pub confirm: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Redeems the points and charges the rest (DESIGN §3 step 4); every outcome is stored and
/// announced. An attempt already made is returned as it is: nothing is charged twice.
pub async fn pay(
    conn: &mut AsyncPgConnection,
    provider: &dyn PaymentProvider,
    order: &PaymentOrder,
) -> Result<PaymentRow, PayError> {
    let (order_id, customer_id, attempt, total) = (
        order.order_id,
        order.customer_id,
        order.attempt,
        order.total,
    );
    if let Some(existing) = db::payments::find_attempt(conn, order_id, attempt).await? {
        return Ok(existing);
    }
    let points = rewards::redeemable(order.points_to_redeem, total);
    let card_amount = total.to_cents() - points;
    let mut payment = NewPayment {
        order_id,
        customer_id,
        attempt,
        total_cents: total.to_cents(),
        points_redeemed: points,
        card_amount_cents: card_amount,
        status: "failed",
        payment_method_id: None,
        method_type: "fs_coin",
        card_brand: None,
        card_last4: None,
        provider: None,
        provider_payment_id: None,
        client_secret: None,
        decline_code: None,
        failure_message: None,
    };
    if points > 0 {
        let change = Change {
            user_id: customer_id,
            kind: EntryKind::Redeemed,
            points: -points,
            order_id: Some(order_id),
            reference: Some(ledger::reference(
                order_id,
                Some(attempt),
                EntryKind::Redeemed,
            )),
            description: &format!("Order {}", order.order_number),
            actor_id: None,
        };
        if let Outcome::Insufficient { balance } = ledger::apply(conn, &change).await? {
            let message = format!("Not enough FS Coins: {balance} available, {points} requested.");
            payment.points_redeemed = 0;
            payment.failure_message = Some(&message);
            return refuse(conn, payment, v1::PaymentFailureReason::InsufficientPoints).await;
        }
    }
    if card_amount == 0 {
        payment.status = "succeeded";
        let row = db::payments::insert(conn, payment).await?;
        succeeded(conn, &row).await?;
        return Ok(row);
    }

    let methods = db::methods::list(conn, customer_id).await?;
    let method = match order.method {
        Some(id) => methods.iter().find(|m| m.id == id),
        None => methods.iter().find(|m| m.is_primary),
    };
    let customer = db::customers::find(conn, customer_id, provider.name()).await?;
    let (Some(method), Some(customer)) = (method, customer) else {
        payment.failure_message = Some("The payment method is no longer available.");
        return refuse(
            conn,
            payment,
            v1::PaymentFailureReason::PaymentMethodUnavailable,
        )
        .await;
    };
    payment.payment_method_id = Some(method.id);
    payment.method_type = &method.method_type;
    payment.card_brand = method.card_brand.as_deref();
    payment.card_last4 = method.last_four.as_deref();
    payment.provider = Some(provider.name());
    let key = format!("{order_id}:{attempt}");
    let intent = provider
        .create_payment_intent(&IntentRequest {
            amount_cents: card_amount,
            customer: &customer,
            payment_method: Some(&method.provider_payment_method_id),
            confirm: order.confirm,
            idempotency_key: &key,
            order_id,
        })
        .await;
    let intent = match intent {
        Ok(intent) => intent,
        Err(ProviderError::Unavailable(err)) => return Err(PayError::Unavailable(err)),
        Err(ProviderError::InvalidRequest(message)) => {
            payment.failure_message = Some(&message);
            return refuse(conn, payment, v1::PaymentFailureReason::ProviderError).await;
        }
    };
    payment.provider_payment_id = Some(&intent.id);
    match &intent.status {
        IntentStatus::Succeeded => {
            payment.status = "succeeded";
            let row = db::payments::insert(conn, payment).await?;
            succeeded(conn, &row).await?;
            Ok(row)
        }
        IntentStatus::Failed {
            decline_code,
            message,
        } => {
            payment.decline_code = Some(decline_code);
            payment.failure_message = Some(message);
            refuse(conn, payment, v1::PaymentFailureReason::CardDeclined).await
        }
        IntentStatus::RequiresAction | IntentStatus::RequiresConfirmation => {
            payment.status = "requires_action";
            payment.client_secret = Some(&intent.client_secret);
            let row = db::payments::insert(conn, payment).await?;
            metrics::counter!("payments_total", "outcome" => "requires_action", "method" => row.method_type.clone()).increment(1);
            let event = v1::PaymentActionRequired {
                order_id: row.order_id.to_string(),
                payment_id: row.id.to_string(),
                customer_id: row.customer_id.to_string(),
                attempt: row.attempt,
                amount_cents: row.card_amount_cents,
                client_secret: intent.client_secret.clone(),
                next_action_type: "use_stripe_sdk".into(),
                redirect_url: String::new(),
                provider: provider.name().into(),
                provider_payment_id: intent.id.clone(),
                requested_at: Some(timestamp(Utc::now())),
            };
            publish(conn, &event, Some(&row.order_id.to_string())).await?;
            Ok(row)
        }
        IntentStatus::Canceled => Err(PayError::Unavailable(format!(
            "PaymentIntent {} was canceled",
            intent.id
        ))),
    }
}

/// Who asked for a refund.
#[derive(Debug, Clone, Copy)]
pub enum RefundBy<'a> {
    Cancellation,
    Admin { actor: Uuid, note: &'a str },
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("nothing is left to refund ({0} cents available)")]
    TooMuch(i64),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

#[expect(
    clippy::too_many_arguments,
    reason = "one event, every field from the caller"
)]
async fn refunded_event(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    refund_id: Option<Uuid>,
    amount: i64,
    points: i64,
    reason: v1::RefundReason,
    actor: Option<Uuid>,
    provider_refund_id: Option<&str>,
) -> diesel::QueryResult<Uuid> {
    metrics::counter!("payments_refunded_cents_total")
        .increment(u64::try_from(amount).unwrap_or(0));
    let event = v1::PaymentRefunded {
        order_id: payment.order_id.to_string(),
        payment_id: payment.id.to_string(),
        refund_id: refund_id.map(|id| id.to_string()).unwrap_or_default(),
        customer_id: payment.customer_id.to_string(),
        amount_cents: amount,
        points_restored: points,
        fully_refunded: payment.status == "refunded",
        reason: reason as i32,
        note: String::new(),
        actor_id: actor.map(|id| id.to_string()).unwrap_or_default(),
        provider: payment.provider.clone().unwrap_or_default(),
        provider_refund_id: provider_refund_id.unwrap_or_default().to_owned(),
        refunded_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&payment.order_id.to_string())).await
}

/// Takes back the reward points a refunded amount had earned (when the order was delivered
/// already): one per whole refunded dollar, no more than were earned, and no more than the
/// balance still holds (points already spent stay spent).
async fn reverse_earned(
    conn: &mut AsyncPgConnection,
    payment: &PaymentRow,
    refunded_cents: i64,
    refund_id: Uuid,
) -> diesel::QueryResult<()> {
    let earned_ref = ledger::reference(payment.order_id, None, EntryKind::Earned);
    let Some(earned) = db::rewards::by_reference(conn, &earned_ref).await? else {
        return Ok(());
    };
    let wanted = rewards::earned_for(Money::from_cents(refunded_cents).unwrap_or(Money::ZERO))
        .min(earned.points);
    let points = wanted.min(db::rewards::balance(conn, payment.customer_id).await?);
    if points <= 0 {
        return Ok(());
    }
    let change = Change {
        user_id: payment.customer_id,
        kind: EntryKind::Reversed,
        points: -points,
        order_id: Some(payment.order_id),
        description: "Refund: reward points taken back",
        actor_id: None,
        reference: Some(format!("refund:{refund_id}:reversed")),
    };
    ledger::apply(conn, &change).await?;
    Ok(())
}

/// Refunds `amount` cents of a succeeded payment (a cancellation also gives the redeemed
/// points back), records it and announces `payment.refunded`.
pub async fn refund(
    conn: &mut AsyncPgConnection,
    provider: &dyn PaymentProvider,
    payment: &PaymentRow,
    amount: i64,
    by: RefundBy<'_>,
) -> Result<PaymentRow, RefundError> {
    if amount < 0 || amount > payment.refundable_cents() {
        return Err(RefundError::TooMuch(payment.refundable_cents()));
    }
    let (reason, actor, note, restore) = match by {
        RefundBy::Cancellation => ("order_cancelled", None, None, true),
        RefundBy::Admin { actor, note } => ("admin", Some(actor), Some(note), false),
    };
    let provider_refund = match (&payment.provider_payment_id, amount) {
        (Some(intent), amount) if amount > 0 => {
            // One key per refund: the payment's refunded total so far makes it unique.
            let key = format!("refund:{}:{}", payment.id, payment.refunded_cents);
            Some(provider.refund(intent, amount, &key).await?)
        }
        _ => None,
    };
    let points = if restore {
        restore_points(conn, payment, "Order cancelled: points returned").await?
    } else {
        0
    };
    let refund_id = db::payments::insert_refund(
        conn,
        NewRefund {
            payment_id: payment.id,
            amount_cents: amount,
            points_restored: points,
            reason,
            note,
            actor_id: actor,
            provider_refund_id: provider_refund.as_deref(),
        },
    )
    .await?;
    let row = db::payments::add_refund(conn, payment.id, amount, points).await?;
    reverse_earned(conn, payment, amount, refund_id).await?;
    let proto_reason = if restore {
        v1::RefundReason::OrderCancelled
    } else {
        v1::RefundReason::Admin
    };
    refunded_event(
        conn,
        &row,
        Some(refund_id),
        amount,
        points,
        proto_reason,
        actor,
        provider_refund.as_deref(),
    )
    .await?;
    Ok(row)
}
