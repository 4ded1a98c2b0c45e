//! Money and points going back: a refund of a succeeded payment (by an admin, or because the
//! order was cancelled), points a failed or cancelled payment had redeemed, and reward points
//! a refunded amount had earned. Each runs in the caller's transaction and is announced.

use crate::db;
use crate::db::payments::{NewRefund, PaymentRow, PaymentStatus, RefundReason, Settlement};
use crate::events::{self, Refunded};
use crate::ledger::{self, Change, Outcome};
use crate::provider::{PaymentProvider, ProviderError};
use crate::rewards::{self, EntryKind};
use crate::state::AppState;
use ::events::audit::Actor;
use ::events::{HandlerError, v1};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Money, OrderId, PaymentId, Problem, Role, UserId};
use serde_json::json;
use uuid::Uuid;

/// Who asked for a refund.
#[derive(Debug, Clone, Copy)]
pub enum RefundBy<'a> {
    /// The order was cancelled: the card amount left and the redeemed points go back.
    Cancellation,
    Admin {
        actor: UserId,
        note: &'a str,
    },
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

/// Gives back the points a payment redeemed (once per order and attempt).
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
    let (reason, actor, note) = match by {
        RefundBy::Cancellation => (RefundReason::OrderCancelled, None, None),
        RefundBy::Admin { actor, note } => (RefundReason::Admin, Some(actor), Some(note)),
    };
    let provider_refund = match (&payment.provider_payment_id, amount) {
        (Some(intent), amount) if amount > 0 => {
            // One key per refund: the payment's refunded total so far makes it unique.
            let key = format!("refund:{}:{}", payment.id, payment.refunded_cents);
            Some(provider.refund(intent, amount, &key).await?)
        }
        _ => None,
    };
    let points = match by {
        RefundBy::Cancellation => {
            restore_points(conn, payment, "Order cancelled: points returned").await?
        }
        RefundBy::Admin { .. } => 0,
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
    let refunded = Refunded {
        refund_id: Some(refund_id),
        amount_cents: amount,
        points,
        reason: match reason {
            RefundReason::OrderCancelled => v1::RefundReason::OrderCancelled,
            RefundReason::Admin => v1::RefundReason::Admin,
        },
        actor,
        provider_refund_id: provider_refund.as_deref(),
    };
    events::payment_refunded(conn, &row, refunded).await?;
    Ok(row)
}

/// `order.cancelled`: refunds what is left of the order's payment and gives its points back
/// (audited with the cancelling actor: its id, the customer when the event names none, and
/// its role); a payment still
/// waiting for the customer is cancelled at the provider.
pub async fn on_cancelled(
    conn: &mut AsyncPgConnection,
    provider: &dyn PaymentProvider,
    order_id: OrderId,
    actor: (Option<UserId>, Role),
) -> Result<(), HandlerError> {
    db::orders::cancel(conn, order_id).await?;
    let Some(payment) = db::payments::lock_latest_for_order(conn, order_id).await? else {
        return Ok(());
    };
    match payment.status {
        PaymentStatus::Succeeded => {
            refund(
                conn,
                provider,
                &payment,
                payment.refundable_cents(),
                RefundBy::Cancellation,
            )
            .await
            .map_err(|err| match err {
                RefundError::Provider(ProviderError::Unavailable(e)) => HandlerError::Transient(e),
                other => HandlerError::Permanent(other.to_string()),
            })?;
            let (id, role) = (actor.0.unwrap_or(payment.customer_id), actor.1);
            ::events::audit::record(
                conn,
                crate::config::SERVICE,
                &Actor::new(id, role),
                "payment.refunded",
                ("payment", payment.id.into_inner()),
                &json!({
                    "orderId": order_id,
                    "amountCents": payment.refundable_cents(),
                    "pointsRestored": payment.points_redeemed,
                    "reason": "order_cancelled",
                }),
            )
            .await?;
        }
        PaymentStatus::RequiresAction => {
            if let Some(intent) = &payment.provider_payment_id {
                provider
                    .cancel_payment_intent(intent)
                    .await
                    .map_err(|e| HandlerError::Transient(e.to_string()))?;
            }
            let settlement = Settlement::Failed {
                decline_code: None,
                message: "The order was cancelled.",
            };
            let row = db::payments::settle(conn, payment.id, settlement).await?;
            let restored = restore_points(conn, &row, "Order cancelled: points returned").await?;
            if restored > 0 {
                let row = db::payments::add_refund(conn, row.id, 0, restored).await?;
                let refunded = Refunded {
                    refund_id: None,
                    amount_cents: 0,
                    points: restored,
                    reason: v1::RefundReason::OrderCancelled,
                    actor: None,
                    provider_refund_id: None,
                };
                events::payment_refunded(conn, &row, refunded).await?;
            }
        }
        PaymentStatus::Processing | PaymentStatus::Failed | PaymentStatus::Refunded => {}
    }
    Ok(())
}

/// An admin refunds `amount` of a payment's card money, at most what is left (422); audited
/// in the same transaction.
pub async fn by_admin(
    state: &AppState,
    actor: &Actor,
    payment_id: PaymentId,
    amount: Money,
    reason: &str,
) -> Result<PaymentRow, Problem> {
    let provider = state.provider.clone();
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let payment = db::payments::lock(conn, payment_id)
            .await?
            .ok_or_else(|| Problem::not_found("No such payment."))?;
        let by = RefundBy::Admin {
            actor: actor.user_id(),
            note: reason,
        };
        let row = refund(conn, provider.as_ref(), &payment, amount.to_cents(), by)
            .await
            .map_err(|err| match err {
                RefundError::TooMuch(left) => {
                    Problem::new(Code::BusinessRule).with_detail(format!(
                        "At most {} can be refunded.",
                        Money::from_cents(left).unwrap_or(Money::ZERO)
                    ))
                }
                RefundError::Provider(e) => e.into(),
                RefundError::Database(e) => e.into(),
            })?;
        ::events::audit::record(
            conn,
            crate::config::SERVICE,
            actor,
            "payment.refunded",
            ("payment", row.id.into_inner()),
            &json!({ "amount": amount.to_string(), "reason": reason, "orderId": row.order_id }),
        )
        .await?;
        Ok::<_, Problem>(row)
    })
    .await
}
