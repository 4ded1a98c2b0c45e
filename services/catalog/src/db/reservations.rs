//! `stock_reservations` (one row per order line) and `stock_decisions` (the answer given per
//! order).

use crate::schema::{stock_decisions, stock_reservations};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, ProductId};

domain::string_enum! {
    /// Where a reservation stands.
    pub enum ReservationStatus (field = "status") {
        /// Holding stock for an open order.
        Reserved => "reserved",
        /// Given back: the order was cancelled.
        Released => "released",
        /// Taken out of stock: the order was delivered.
        Committed => "committed",
    }
}

domain::string_enum! {
    /// What catalog answered for an order.
    pub enum Decision (field = "outcome") {
        Reserved => "reserved",
        Rejected => "rejected",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stock_reservations)]
pub struct ReservationRow {
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub quantity: i32,
    pub status: ReservationStatus,
}

/// What catalog already answered for an order, if anything.
pub async fn decision(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
) -> QueryResult<Option<Decision>> {
    stock_decisions::table
        .find(order_id)
        .select(stock_decisions::outcome)
        .first(conn)
        .await
        .optional()
}

pub async fn record_decision(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    decision: Decision,
) -> QueryResult<()> {
    diesel::insert_into(stock_decisions::table)
        .values((
            stock_decisions::order_id.eq(order_id),
            stock_decisions::outcome.eq(decision),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    lines: &[(ProductId, i32)],
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
    order_id: OrderId,
) -> QueryResult<Vec<ReservationRow>> {
    stock_reservations::table
        .filter(stock_reservations::order_id.eq(order_id))
        .filter(stock_reservations::status.eq(ReservationStatus::Reserved))
        .order(stock_reservations::product_id)
        .for_update()
        .select(ReservationRow::as_select())
        .load(conn)
        .await
}

/// Closes an order's open reservations as `status` (released or committed).
pub async fn close(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    status: ReservationStatus,
) -> QueryResult<usize> {
    diesel::update(
        stock_reservations::table
            .filter(stock_reservations::order_id.eq(order_id))
            .filter(stock_reservations::status.eq(ReservationStatus::Reserved)),
    )
    .set((
        stock_reservations::status.eq(status),
        stock_reservations::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

/// The products an order reserved (any status).
pub async fn products_of_order(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
) -> QueryResult<Vec<ProductId>> {
    stock_reservations::table
        .filter(stock_reservations::order_id.eq(order_id))
        .select(stock_reservations::product_id)
        .load(conn)
        .await
}
