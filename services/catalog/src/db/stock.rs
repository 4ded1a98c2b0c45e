//! `stock_reservations`, `stock_decisions` and `inventory_history`.

use crate::schema::{inventory_history, stock_decisions, stock_reservations};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::Pagination;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stock_reservations)]
pub struct ReservationRow {
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub quantity: i32,
    pub status: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inventory_history)]
pub struct HistoryRow {
    pub id: i64,
    pub product_id: Uuid,
    pub kind: String,
    pub change: i32,
    pub quantity_after: i32,
    pub reason: String,
    pub actor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = inventory_history)]
pub struct NewHistory<'a> {
    pub product_id: Uuid,
    pub kind: &'a str,
    pub change: i32,
    pub quantity_after: i32,
    pub reason: &'a str,
    pub actor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
}

/// What catalog already answered for an order, if anything.
pub async fn decision(conn: &mut AsyncPgConnection, order_id: Uuid) -> QueryResult<Option<String>> {
    stock_decisions::table
        .find(order_id)
        .select(stock_decisions::outcome)
        .first(conn)
        .await
        .optional()
}

pub async fn record_decision(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    outcome: &str,
) -> QueryResult<()> {
    diesel::insert_into(stock_decisions::table)
        .values((
            stock_decisions::order_id.eq(order_id),
            stock_decisions::outcome.eq(outcome),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_reservations(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    lines: &[(Uuid, i32)],
) -> QueryResult<()> {
    let rows: Vec<_> = lines
        .iter()
        .map(|(product_id, quantity)| {
            (
                stock_reservations::order_id.eq(order_id),
                stock_reservations::product_id.eq(*product_id),
                stock_reservations::quantity.eq(*quantity),
            )
        })
        .collect();
    diesel::insert_into(stock_reservations::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// An order's reservations still holding stock, locked.
pub async fn open_for_order(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> QueryResult<Vec<ReservationRow>> {
    stock_reservations::table
        .filter(stock_reservations::order_id.eq(order_id))
        .filter(stock_reservations::status.eq("reserved"))
        .order(stock_reservations::product_id)
        .for_update()
        .select(ReservationRow::as_select())
        .load(conn)
        .await
}

/// Closes an order's open reservations as `released` or `committed`.
pub async fn close(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    status: &str,
) -> QueryResult<usize> {
    diesel::update(
        stock_reservations::table
            .filter(stock_reservations::order_id.eq(order_id))
            .filter(stock_reservations::status.eq("reserved")),
    )
    .set((
        stock_reservations::status.eq(status),
        stock_reservations::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

pub async fn record_history(
    conn: &mut AsyncPgConnection,
    entry: NewHistory<'_>,
) -> QueryResult<()> {
    diesel::insert_into(inventory_history::table)
        .values(entry)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn history(
    conn: &mut AsyncPgConnection,
    product_id: Uuid,
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

/// The products an order reserved (any status).
pub async fn products_of_order(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    stock_reservations::table
        .filter(stock_reservations::order_id.eq(order_id))
        .select(stock_reservations::product_id)
        .load(conn)
        .await
}
