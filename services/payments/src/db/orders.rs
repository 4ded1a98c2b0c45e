//! `orders`: the read model of submitted orders.

use crate::db::payments::PaymentStatus;
use crate::schema::{orders, payments};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, PaymentMethodId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer_id: UserId,
    pub total_cents: i64,
    pub points_to_redeem: i64,
    pub payment_method_id: Option<PaymentMethodId>,
    pub cancelled: bool,
}

/// Records a submitted order (a repeat changes nothing).
pub async fn upsert(conn: &mut AsyncPgConnection, order: &OrderRow) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values(order)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn cancel(conn: &mut AsyncPgConnection, order_id: OrderId) -> QueryResult<()> {
    diesel::update(orders::table.find(order_id))
        .set(orders::cancelled.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

/// The customer's order, if it is theirs.
pub async fn find_for(
    conn: &mut AsyncPgConnection,
    customer_id: UserId,
    order_id: OrderId,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(order_id)
        .filter(orders::customer_id.eq(customer_id))
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The customer's newest order still waiting for payment: not cancelled, and no payment yet
/// or only one waiting for the customer (create-intent without an order id).
pub async fn awaiting_payment(
    conn: &mut AsyncPgConnection,
    customer_id: UserId,
) -> QueryResult<Option<OrderRow>> {
    let settled = payments::table
        .filter(payments::order_id.eq(orders::order_id))
        .filter(payments::status.ne(PaymentStatus::RequiresAction));
    orders::table
        .filter(orders::customer_id.eq(customer_id))
        .filter(orders::cancelled.eq(false))
        .filter(diesel::dsl::not(diesel::dsl::exists(settled)))
        .order(orders::submitted_at.desc())
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()
}
