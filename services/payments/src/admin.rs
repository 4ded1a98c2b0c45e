//! What admins change by hand: a customer's FS Coin balance and refunds of part of a
//! payment. Each runs in one transaction with its audit entry.

use crate::db;
use crate::db::payments::PaymentRow;
use crate::db::rewards::EntryRow;
use crate::ledger::{self, Change, Outcome};
use crate::rewards::EntryKind;
use crate::saga::{self, RefundBy, RefundError};
use crate::state::AppState;
use diesel_async::AsyncConnection;
use domain::{Code, Money, Problem};
use events::audit::Actor;
use serde_json::json;
use uuid::Uuid;

/// Adds (positive) or takes (negative) `points`; the balance never goes below zero (422).
pub async fn adjust_points(
    state: &AppState,
    actor: &Actor,
    user: Uuid,
    points: i64,
    reason: &str,
) -> Result<EntryRow, Problem> {
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let change = Change {
            user_id: user,
            kind: EntryKind::Adjusted,
            points,
            order_id: None,
            description: reason,
            actor_id: Some(actor.id),
            reference: None,
        };
        let entry = match ledger::apply(conn, &change).await? {
            Outcome::Applied(entry) => entry,
            Outcome::Insufficient { balance } => {
                return Err(Problem::new(Code::BusinessRule).with_detail(format!(
                    "The balance is {balance} points; it cannot go below zero."
                )));
            }
            Outcome::AlreadyApplied => {
                return Err(Problem::internal(&"an adjustment has no order"));
            }
        };
        events::audit::record(
            conn,
            crate::config::SERVICE,
            actor,
            "rewards.adjusted",
            ("user", user),
            &json!({ "points": points, "reason": reason, "balanceAfter": entry.balance_after }),
        )
        .await?;
        Ok::<_, Problem>(entry)
    })
    .await
}

/// Refunds `amount` of a payment's card money, at most what is left (422).
pub async fn refund(
    state: &AppState,
    actor: &Actor,
    payment_id: Uuid,
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
            actor: actor.id,
            note: reason,
        };
        let row = saga::refund(conn, provider.as_ref(), &payment, amount.to_cents(), by)
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
        events::audit::record(
            conn,
            crate::config::SERVICE,
            actor,
            "payment.refunded",
            ("payment", row.id),
            &json!({ "amount": amount.to_string(), "reason": reason, "orderId": row.order_id }),
        )
        .await?;
        Ok::<_, Problem>(row)
    })
    .await
}
