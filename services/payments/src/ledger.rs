//! The FS Coin ledger: every change of a balance is one entry and one `rewards.changed`, in
//! the caller's transaction. Debits happen in a single conditional update, so concurrent
//! redemptions that together exceed the balance cannot all pass. Also the two use cases
//! that only credit or correct a balance: points earned on delivery, and admins'
//! adjustments.

use crate::db;
use crate::db::payments::PaymentStatus;
use crate::db::rewards::{EntryRow, NewEntry};
use crate::events;
use crate::rewards::{self, EntryKind};
use crate::state::AppState;
use ::events::audit::Actor;
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Money, OrderId, Problem, UserId};
use serde_json::json;

/// One change to apply: `points` added (positive) or taken (negative).
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub user_id: UserId,
    pub kind: EntryKind,
    pub points: i64,
    pub order_id: Option<OrderId>,
    pub description: &'a str,
    pub actor_id: Option<UserId>,
    /// What the entry is for (see `reference`); one entry per reference.
    pub reference: Option<String>,
}

/// The reference of an order's entry of `kind` (for one payment attempt where it matters).
pub fn reference(order_id: OrderId, attempt: Option<i32>, kind: EntryKind) -> String {
    match attempt {
        Some(attempt) => format!("order:{order_id}:{attempt}:{}", kind.as_str()),
        None => format!("order:{order_id}:{}", kind.as_str()),
    }
}

#[derive(Debug)]
pub enum Outcome {
    Applied(EntryRow),
    /// The entry for this reference exists (a redelivered event).
    AlreadyApplied,
    /// The balance does not hold the points to take.
    Insufficient {
        balance: i64,
    },
}

pub async fn apply(conn: &mut AsyncPgConnection, change: &Change<'_>) -> QueryResult<Outcome> {
    if let Some(reference) = &change.reference
        && db::rewards::exists(conn, reference).await?
    {
        return Ok(Outcome::AlreadyApplied);
    }
    let after = if change.points > 0 {
        Some(db::rewards::credit(conn, change.user_id, change.points).await?)
    } else {
        db::rewards::debit(conn, change.user_id, -change.points).await?
    };
    let Some((balance, sequence)) = after else {
        let balance = db::rewards::balance(conn, change.user_id).await?;
        return Ok(Outcome::Insufficient { balance });
    };
    let entry = db::rewards::insert_entry(
        conn,
        NewEntry {
            user_id: change.user_id,
            sequence,
            kind: change.kind,
            points: change.points,
            balance_after: balance,
            order_id: change.order_id,
            description: change.description,
            actor_id: change.actor_id,
            reference: change.reference.as_deref(),
        },
    )
    .await?;
    events::rewards_changed(conn, &entry, change.kind).await?;
    Ok(Outcome::Applied(entry))
}

/// `order.delivered`: credits the points the order's card payment earned (less refunds),
/// once per order.
pub async fn earn_for_delivery(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    order_number: &str,
) -> QueryResult<()> {
    let Some(payment) = db::payments::lock_latest_for_order(conn, order_id).await? else {
        return Ok(());
    };
    if payment.status != PaymentStatus::Succeeded {
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
            reference: Some(reference(order_id, None, EntryKind::Earned)),
            description: &format!("Purchase reward, order {order_number}"),
            actor_id: None,
        };
        apply(conn, &change).await?;
    }
    Ok(())
}

/// An admin adds (positive) or takes (negative) `points`; the balance never goes below zero
/// (422). Audited in the same transaction.
pub async fn adjust(
    state: &AppState,
    actor: &Actor,
    user: UserId,
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
            actor_id: Some(actor.user_id()),
            reference: None,
        };
        let entry = match apply(conn, &change).await? {
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
        ::events::audit::record(
            conn,
            crate::config::SERVICE,
            actor,
            "rewards.adjusted",
            ("user", user.into_inner()),
            &json!({ "points": points, "reason": reason, "balanceAfter": entry.balance_after }),
        )
        .await?;
        Ok::<_, Problem>(entry)
    })
    .await
}
