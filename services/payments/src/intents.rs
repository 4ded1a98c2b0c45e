//! PaymentIntents for client-side confirmation (`create-intent`): only for the customer's own
//! pending order, only for what it owes by card after its points — never an amount the
//! client picks. The outcome arrives by webhook; a later `order.payment_requested` for the
//! same attempt charges nothing more.

use crate::charge::{self, Confirmation, PayError, PaymentOrder};
use crate::db;
use crate::db::payments::{PaymentRow, PaymentStatus};
use crate::rewards;
use crate::state::AppState;
use diesel_async::AsyncConnection;
use domain::{Code, Money, OrderId, PaymentMethodId, Problem, UserId};

/// Starts (or returns) the first payment attempt of `user`'s order `order_id`. `claimed` is
/// what the client believes it pays: refused when it is not what the order owes.
pub async fn create_for_order(
    state: &AppState,
    user: UserId,
    order_id: OrderId,
    claimed: Option<Money>,
    method: Option<PaymentMethodId>,
) -> Result<PaymentRow, Problem> {
    let mut conn = state.db().await?;
    let order = db::orders::find_for(&mut conn, user, order_id)
        .await?
        .filter(|order| !order.cancelled)
        .ok_or_else(|| Problem::not_found("No such pending order."))?;
    let total = Money::from_cents(order.total_cents).unwrap_or(Money::ZERO);
    let due =
        Money::from_cents(order.total_cents - rewards::redeemable(order.points_to_redeem, total))
            .unwrap_or(Money::ZERO);
    if let Some(claimed) = claimed
        && claimed != due
    {
        return Err(Problem::new(Code::BusinessRule)
            .with_detail(format!("This order owes {due} by card, not {claimed}."))
            .with_extension("amountDue", due.to_string()));
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
