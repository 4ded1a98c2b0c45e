//! The saga's payment step (DESIGN §3 step 4): redeem the points, then charge the rest with
//! the order (and attempt) as the provider's idempotency key. Every outcome is stored and
//! announced in the caller's transaction (the inbox's, or `create-intent`'s).

use crate::db;
use crate::db::payments::{NewPayment, PaidWith, PaymentRow, PaymentStatus};
use crate::events;
use crate::ledger::{self, Change, Outcome};
use crate::provider::{Confirm, IntentRequest, IntentStatus, PaymentProvider, ProviderError};
use crate::refunds::restore_points;
use crate::rewards::{self, EntryKind};
use ::events::v1 as events_v1;
use diesel_async::AsyncPgConnection;
use domain::{Money, OrderId, PaymentMethodId, UserId};
use events_v1::PaymentFailureReason as Failure;

/// Who confirms the PaymentIntent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Charged at once (the saga).
    Now,
    /// Confirmed by the customer in the app (`create-intent`).
    ByClient,
}

/// A payment to make for an order.
#[derive(Debug, Clone)]
pub struct PaymentOrder {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer_id: UserId,
    pub total: Money,
    pub points_to_redeem: i64,
    /// The saved method to charge; the primary one when `None`.
    pub method: Option<PaymentMethodId>,
    pub attempt: i32,
    pub confirmation: Confirmation,
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A payment that cannot be made, recorded as failed with the points given back.
async fn refuse(
    conn: &mut AsyncPgConnection,
    payment: NewPayment<'_>,
    reason: Failure,
) -> Result<PaymentRow, PayError> {
    let row = db::payments::insert(conn, payment).await?;
    let restored = restore_points(conn, &row, "Payment failed: points returned").await?;
    events::payment_failed(conn, &row, reason, restored).await?;
    Ok(row)
}

/// Redeems the points and charges the rest; every outcome is stored and announced. An
/// attempt already made is returned as it is: nothing is charged twice.
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
        status: PaymentStatus::Failed,
        payment_method_id: None,
        method_type: PaidWith::FsCoin,
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
            return refuse(conn, payment, Failure::InsufficientPoints).await;
        }
    }
    if card_amount == 0 {
        payment.status = PaymentStatus::Succeeded;
        let row = db::payments::insert(conn, payment).await?;
        events::payment_succeeded(conn, &row).await?;
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
        return refuse(conn, payment, Failure::PaymentMethodUnavailable).await;
    };
    payment.payment_method_id = Some(method.id);
    payment.method_type = PaidWith::from(method.method_type);
    payment.card_brand = method.card_brand.as_deref();
    payment.card_last4 = method.last_four.as_deref();
    payment.provider = Some(provider.name());
    let key = format!("{order_id}:{attempt}");
    let intent = provider
        .create_payment_intent(&IntentRequest {
            amount_cents: card_amount,
            customer: &customer,
            payment_method: Some(&method.provider_payment_method_id),
            confirm: match order.confirmation {
                Confirmation::Now => Confirm::Now,
                Confirmation::ByClient => Confirm::Later,
            },
            idempotency_key: &key,
            order_id,
        })
        .await;
    let intent = match intent {
        Ok(intent) => intent,
        Err(ProviderError::Unavailable(err)) => return Err(PayError::Unavailable(err)),
        Err(ProviderError::InvalidRequest(message)) => {
            payment.failure_message = Some(&message);
            return refuse(conn, payment, Failure::ProviderError).await;
        }
    };
    payment.provider_payment_id = Some(&intent.id);
    match &intent.status {
        IntentStatus::Succeeded => {
            payment.status = PaymentStatus::Succeeded;
            let row = db::payments::insert(conn, payment).await?;
            events::payment_succeeded(conn, &row).await?;
            Ok(row)
        }
        IntentStatus::Failed {
            decline_code,
            message,
        } => {
            payment.decline_code = Some(decline_code);
            payment.failure_message = Some(message);
            refuse(conn, payment, Failure::CardDeclined).await
        }
        IntentStatus::RequiresAction | IntentStatus::RequiresConfirmation => {
            payment.status = PaymentStatus::RequiresAction;
            payment.client_secret = Some(&intent.client_secret);
            let row = db::payments::insert(conn, payment).await?;
            events::payment_action_required(conn, &row, &intent.client_secret).await?;
            Ok(row)
        }
        IntentStatus::Canceled => Err(PayError::Unavailable(format!(
            "PaymentIntent {} was canceled",
            intent.id
        ))),
    }
}
