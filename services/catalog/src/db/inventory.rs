//! `inventory_history`: every change of a product's stock on hand, with its reason and actor.

use crate::schema::inventory_history;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, Pagination, ProductId, UserId};

domain::string_enum! {
    /// Why stock on hand changed.
    pub enum HistoryKind (field = "kind") {
        /// An admin counted it.
        Set => "set",
        /// An admin added received packages or wrote some off.
        Adjust => "adjust",
        /// An order was delivered.
        Sold => "sold",
        /// The product was created with stock.
        Created => "created",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inventory_history)]
pub struct HistoryRow {
    pub id: i64,
    pub product_id: ProductId,
    pub kind: HistoryKind,
    pub change: i32,
    pub quantity_after: i32,
    pub reason: String,
    pub actor_id: Option<UserId>,
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = inventory_history)]
pub struct NewHistory<'a> {
    pub product_id: ProductId,
    pub kind: HistoryKind,
    pub change: i32,
    pub quantity_after: i32,
    pub reason: &'a str,
    pub actor_id: Option<UserId>,
    pub order_id: Option<OrderId>,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: NewHistory<'_>) -> QueryResult<()> {
    diesel::insert_into(inventory_history::table)
        .values(entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// A page of a product's history, newest first, and how many entries it has.
pub async fn page(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
    page: &Pagination,
) -> QueryResult<(Vec<HistoryRow>, i64)> {
    let total = inventory_history::table
        .filter(inventory_history::product_id.eq(product_id))
        .count()
        .get_result(conn)
        .await?;
    let rows = inventory_history::table
        .filter(inventory_history::product_id.eq(product_id))
        .order(inventory_history::id.desc())
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(HistoryRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
