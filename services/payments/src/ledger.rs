//! The FS Coin ledger: every change of a balance is one entry and one `rewards.changed`, in
//! the caller's transaction. Debits happen in a single conditional update, so concurrent
//! redemptions that together exceed the balance cannot all pass.

use crate::db;
use crate::db::rewards::{EntryRow, NewEntry};
use crate::rewards::EntryKind;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use events::outbox::publish;
use events::{timestamp, v1};
use uuid::Uuid;

/// One change to apply: `points` added (positive) or taken (negative).
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub user_id: Uuid,
    pub kind: EntryKind,
    pub points: i64,
    pub order_id: Option<Uuid>,
    pub description: &'a str,
    pub actor_id: Option<Uuid>,
    /// What the entry is for (see `reference`); one entry per reference.
    pub reference: Option<String>,
}

/// The reference of an order's entry of `kind` (for one payment attempt where it matters).
pub fn reference(order_id: Uuid, attempt: Option<i32>, kind: EntryKind) -> String {
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
            kind: change.kind.as_str(),
            points: change.points,
            balance_after: balance,
            order_id: change.order_id,
            description: change.description,
            actor_id: change.actor_id,
            reference: change.reference.as_deref(),
        },
    )
    .await?;
    let event = v1::RewardsChanged {
        user_id: entry.user_id.to_string(),
        transaction_id: entry.id.to_string(),
        sequence: entry.sequence,
        kind: change.kind.to_proto() as i32,
        points_delta: entry.points,
        balance_points: entry.balance_after,
        order_id: entry.order_id.map(|id| id.to_string()).unwrap_or_default(),
        description: entry.description.clone(),
        actor_id: entry.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        occurred_at: Some(timestamp(entry.created_at)),
    };
    publish(conn, &event, Some(&entry.user_id.to_string())).await?;
    metrics::counter!("payments_rewards_entries_total", "kind" => change.kind.as_str())
        .increment(1);
    Ok(Outcome::Applied(entry))
}
