//! PaymentIntents for client-side confirmation (`create-intent`): only for the customer's own
//! pending order, only for what it owes by card after its points — never an amount the
//! client picks — and only with one of the customer's own saved methods. The order is the one
//! named, or (the guide's request, which names none) the customer's newest order still
//! waiting for payment. The outcome arrives by webhook; a later `order.payment_requested` for
//! the same attempt charges nothing more.

use crate::charge::{self, Confirmation, PayError, PaymentOrder};
use crate::db;
use crate::db::payments::{PaymentRow, PaymentStatus};
use crate::rewards;
use crate::state::AppState;
use diesel_async::AsyncConnection;
use domain::{Code, Money, OrderId, PaymentMethodId, Problem, UserId};

/// Which order an intent pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The order the client names (`orderId`).
    Order(OrderId),
    /// The customer's newest order still waiting for payment (the guide's request).
    AwaitingPayment,
}

/// A saved method as the client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodRef {
    /// Our id, as `GET /api/payments/methods` lists it.
    Id(PaymentMethodId),
    /// The provider's id the client saved it with (`pm_...`), as the guide sends it.
    Provider(String),
}

/// Dollars as a JSON number (`39.99`), as the guide writes amounts.
fn dollars(amount: Money) -> serde_json::Value {
    #[expect(
        clippy::cast_precision_loss,
        reason = "an order's cents are far below 2^53: the nearest f64 prints as the two-place amount"
    )]
    let value = amount.to_cents() as f64 / 100.0;
    serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Starts (or returns) the first payment attempt of `user`'s order. `claimed` is what the
/// client believes it pays: refused when it is not what the order owes by card.
pub async fn create_for_order(
    state: &AppState,
    user: UserId,
    target: Target,
    claimed: Option<Money>,
    method: Option<MethodRef>,
) -> Result<PaymentRow, Problem> {
    let mut conn = state.db().await?;
    let order = match target {
        Target::Order(order_id) => db::orders::find_for(&mut conn, user, order_id)
            .await?
            .filter(|order| !order.cancelled)
            .ok_or_else(|| Problem::not_found("No such pending order."))?,
        Target::AwaitingPayment => db::orders::awaiting_payment(&mut conn, user)
            .await?
            .ok_or_else(|| {
                Problem::not_found(
                    "You have no order waiting for payment; place the order (POST /api/orders) first.",
                )
            })?,
    };
    let order_id = order.order_id;
    // Only one of the caller's own methods in use: never someone else's, and a wrong id is
    // refused here rather than failing the order's payment.
    let method = match method {
        None => None,
        Some(wanted) => {
            let methods = db::methods::list(&mut conn, user).await?;
            let found = methods.iter().find(|m| match &wanted {
                MethodRef::Id(id) => m.id == *id,
                MethodRef::Provider(id) => m.provider_payment_method_id == *id,
            });
            Some(
                found
                    .map(|m| m.id)
                    .ok_or_else(|| Problem::not_found("No such saved payment method."))?,
            )
        }
    };
    let total = Money::from_cents(order.total_cents).unwrap_or(Money::ZERO);
    let due =
        Money::from_cents(order.total_cents - rewards::redeemable(order.points_to_redeem, total))
            .unwrap_or(Money::ZERO);
    if let Some(claimed) = claimed
        && claimed != due
    {
        return Err(Problem::new(Code::BusinessRule)
            .with_detail(format!("This order owes {due} by card, not {claimed}."))
            .with_extension("amount", dollars(due))
            .with_extension("amountDue", due.to_string())
            .with_extension("orderId", order_id.to_string()));
    }
    if due.is_zero() {
        return Err(Problem::new(Code::BusinessRule)
            .with_detail("FS Coins cover this order; there is nothing to pay by card."));
    }
    let request = PaymentOrder {
        order_id,
        order_number: order.order_number.clone(),
        customer_id: user,
        total,
        points_to_redeem: order.points_to_redeem,
        method: method.or(order.payment_method_id),
        attempt: 1,
        confirmation: Confirmation::ByClient,
    };
    let provider = state.provider.clone();
    let payment = conn
        .transaction(async |conn| {
            charge::pay(conn, provider.as_ref(), &request)
                .await
                .map_err(|err| match err {
                    PayError::Unavailable(e) => Problem::unavailable(&e),
                    PayError::Database(e) => e.into(),
                })
        })
        .await?;
    if payment.status == PaymentStatus::Succeeded {
        return Err(Problem::new(Code::Conflict).with_detail("This order is paid already."));
    }
    Ok(payment)
}
