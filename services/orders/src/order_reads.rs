//! What customers, drivers and staff read about orders: one order in full (lines, destination,
//! history) if the caller may see it, and pages of orders with their lines.

use crate::db;
use crate::db::orders::{DestinationRow, HistoryRow, ItemRow, OrderFilter, OrderRow};
use crate::state::AppState;
use crate::status_changes::{Access, not_found};
use domain::{OrderId, Page, Pagination, Problem};

/// One order with everything about it.
#[derive(Debug, Clone)]
pub struct OrderInFull {
    pub order: OrderRow,
    pub items: Vec<ItemRow>,
    pub destination: Option<DestinationRow>,
    pub history: Vec<HistoryRow>,
}

/// An order with its lines, as lists show it.
#[derive(Debug, Clone)]
pub struct OrderWithLines {
    pub order: OrderRow,
    pub items: Vec<ItemRow>,
}

/// `order` (just read or changed) with its lines, destination and history.
pub async fn in_full(state: &AppState, order: OrderRow) -> Result<OrderInFull, Problem> {
    let mut conn = state.db().await?;
    let items = db::orders::items(&mut conn, order.id).await?;
    let destination = db::orders::destination(&mut conn, order.id).await?;
    let history = db::orders::history(&mut conn, order.id).await?;
    Ok(OrderInFull {
        order,
        items,
        destination,
        history,
    })
}

/// Order `id` in full if `access` may see it (404 otherwise: not yours reads as not found).
pub async fn find(state: &AppState, id: OrderId, access: Access) -> Result<OrderInFull, Problem> {
    let order = {
        let mut conn = state.db().await?;
        db::orders::find(&mut conn, id)
            .await?
            .filter(|order| access.allows(order))
            .ok_or_else(|| not_found(id))?
    };
    in_full(state, order).await
}

/// A page of the orders `filter` selects, newest first, each with its lines.
pub async fn page(
    state: &AppState,
    filter: &OrderFilter,
    pagination: Pagination,
) -> Result<Page<OrderWithLines>, Problem> {
    let mut conn = state.db().await?;
    let (rows, total) = db::orders::list(&mut conn, filter, pagination).await?;
    let ids: Vec<OrderId> = rows.iter().map(|o| o.id).collect();
    let mut items = db::orders::items_of(&mut conn, &ids).await?;
    let orders = rows
        .into_iter()
        .map(|order| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                items.drain(..).partition(|i| i.order_id == order.id);
            items = rest;
            OrderWithLines { order, items: mine }
        })
        .collect();
    Ok(Page::new(
        orders,
        u64::try_from(total).unwrap_or(0),
        pagination,
    ))
}
