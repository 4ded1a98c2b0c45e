//! Stock on hand as admins keep it: a count or a change with its reason, never below what
//! open orders hold, each recorded in the inventory history and announced; the history and
//! the low-stock report. (Reservations by orders are [`crate::reservations`]'.)

use crate::cache;
use crate::db;
use crate::db::inventory::{HistoryKind, HistoryRow, NewHistory};
use crate::db::products::ProductRow;
use crate::events::{self, Subject};
use crate::products::{self, Card, product_missing};
use crate::state::AppState;
use ::events::audit::Actor;
use diesel_async::AsyncConnection;
use domain::{Code, Pagination, Problem, ProductId, UserId};
use serde_json::json;

/// A change of stock on hand an admin asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Counted stock: set it to this.
    Set(i32),
    /// Received or written off: add this (negative to remove).
    Adjust(i32),
}

impl StockChange {
    const fn kind(self) -> HistoryKind {
        match self {
            Self::Set(_) => HistoryKind::Set,
            Self::Adjust(_) => HistoryKind::Adjust,
        }
    }
}

/// Stock on hand after `change`, which may not drop below what open orders hold.
pub fn apply_stock_change(stock: i32, reserved: i32, change: StockChange) -> Result<i32, Problem> {
    let after = match change {
        StockChange::Set(quantity) => Some(quantity),
        StockChange::Adjust(delta) => stock.checked_add(delta),
    };
    match after {
        Some(after) if after >= reserved && after >= 0 => Ok(after),
        _ if reserved == 0 => {
            Err(Problem::new(Code::Conflict).with_detail("Stock on hand cannot go below zero."))
        }
        _ => Err(Problem::new(Code::Conflict).with_detail(format!(
            "Stock on hand cannot go below the {reserved} packages open orders hold."
        ))),
    }
}

/// Changes a product's stock on hand (409 below what open orders hold); answers the row.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    change: StockChange,
    reason: &str,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            let before = db::products::lock(conn, id)
                .await?
                .ok_or_else(product_missing)?;
            let stock =
                apply_stock_change(before.stock_quantity, before.reserved_quantity, change)?;
            let row =
                db::products::set_quantities(conn, id, stock, before.reserved_quantity).await?;
            db::inventory::record(
                conn,
                NewHistory {
                    product_id: id,
                    kind: change.kind(),
                    change: stock - before.stock_quantity,
                    quantity_after: stock,
                    reason,
                    actor_id: Some(UserId::from(actor.id)),
                    order_id: None,
                },
            )
            .await?;
            events::product_upserted(conn, &row, state.public_url()).await?;
            events::audit(
                conn,
                actor,
                "product.stock_changed",
                Subject::Product(id),
                json!({ "from": before.stock_quantity, "to": stock, "reason": reason }),
            )
            .await?;
            let touched = db::categories::of_products(conn, &[id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// A page of a product's stock history, newest first, and how many entries it has (404 for
/// an unknown product).
pub async fn history(
    state: &AppState,
    id: ProductId,
    page: &Pagination,
) -> Result<(Vec<HistoryRow>, u64), Problem> {
    let mut conn = state.db().await?;
    db::products::find(&mut conn, id)
        .await?
        .ok_or_else(product_missing)?;
    let (rows, total) = db::inventory::page(&mut conn, id, page).await?;
    Ok((rows, u64::try_from(total).unwrap_or_default()))
}

/// Products on sale with at most `threshold` packages available, fewest first.
pub async fn low_stock(state: &AppState, threshold: i32) -> Result<Vec<Card>, Problem> {
    let mut conn = state.db().await?;
    let rows = db::products::low_stock(&mut conn, threshold).await?;
    Ok(products::cards(&mut conn, rows).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_never_drops_below_reservations() {
        assert_eq!(apply_stock_change(10, 4, StockChange::Set(6)).unwrap(), 6);
        assert_eq!(
            apply_stock_change(10, 4, StockChange::Adjust(-6)).unwrap(),
            4
        );
        assert_eq!(
            apply_stock_change(10, 4, StockChange::Set(3))
                .unwrap_err()
                .status(),
            409
        );
        assert!(apply_stock_change(10, 0, StockChange::Adjust(-11)).is_err());
        assert!(apply_stock_change(i32::MAX, 0, StockChange::Adjust(1)).is_err());
    }
}
