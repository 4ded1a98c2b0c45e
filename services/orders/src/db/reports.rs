//! The admin report's aggregates over a period `[from, to)`.

use crate::schema::{analytics_events, order_items, orders, users};
use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, sum};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderStatus, ProductId, Role, UserId};

pub type Period = (DateTime<Utc>, DateTime<Utc>);

/// Customers known (registered before `to`) and registered within the period.
pub async fn users(conn: &mut AsyncPgConnection, (from, to): Period) -> QueryResult<(i64, i64)> {
    let total = users::table
        .filter(users::role.eq(Role::Customer))
        .filter(users::registered_at.lt(to))
        .count()
        .get_result(conn)
        .await?;
    let new = users::table
        .filter(users::role.eq(Role::Customer))
        .filter(users::registered_at.ge(from))
        .filter(users::registered_at.lt(to))
        .count()
        .get_result(conn)
        .await?;
    Ok((total, new))
}

/// Distinct users who sent an analytics event or placed an order in the period.
pub async fn active_users(conn: &mut AsyncPgConnection, (from, to): Period) -> QueryResult<i64> {
    let mut ids: Vec<UserId> = analytics_events::table
        .filter(analytics_events::created_at.ge(from))
        .filter(analytics_events::created_at.lt(to))
        .filter(analytics_events::user_id.is_not_null())
        .select(analytics_events::user_id.assume_not_null())
        .distinct()
        .load(conn)
        .await?;
    let buyers: Vec<UserId> = orders::table
        .filter(orders::created_at.ge(from))
        .filter(orders::created_at.lt(to))
        .select(orders::customer_id)
        .distinct()
        .load(conn)
        .await?;
    ids.extend(buyers);
    ids.sort_unstable();
    ids.dedup();
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// `sum(bigint)` is `numeric` in PostgreSQL; cents fit a bigint.
fn sum_cents(column: &'static str) -> SqlLiteral<Nullable<BigInt>> {
    diesel::dsl::sql::<Nullable<BigInt>>(&format!("sum({column})::bigint"))
}

/// Orders placed in the period, and orders delivered in it with their revenue (cents).
pub async fn orders(
    conn: &mut AsyncPgConnection,
    (from, to): Period,
) -> QueryResult<(i64, i64, i64)> {
    let placed = orders::table
        .filter(orders::created_at.ge(from))
        .filter(orders::created_at.lt(to))
        .count()
        .get_result(conn)
        .await?;
    let (delivered, revenue): (i64, Option<i64>) = orders::table
        .filter(orders::status.eq(OrderStatus::Delivered))
        .filter(orders::delivered_at.ge(from))
        .filter(orders::delivered_at.lt(to))
        .select((count_star(), sum_cents("orders.total_cents")))
        .first(conn)
        .await?;
    Ok((placed, delivered, revenue.unwrap_or(0)))
}

/// A product's sales in the period.
#[derive(Debug, Clone, Queryable)]
pub struct ProductSales {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: Option<i64>,
    pub revenue_cents: Option<i64>,
    pub orders: i64,
}

/// Products sold most (by packages) in orders delivered within the period.
pub async fn top_products(
    conn: &mut AsyncPgConnection,
    (from, to): Period,
    limit: i64,
) -> QueryResult<Vec<ProductSales>> {
    order_items::table
        .inner_join(orders::table)
        .filter(orders::status.eq(OrderStatus::Delivered))
        .filter(orders::delivered_at.ge(from))
        .filter(orders::delivered_at.lt(to))
        .group_by((order_items::product_id, order_items::product_name))
        .select((
            order_items::product_id,
            order_items::product_name,
            sum(order_items::quantity),
            sum_cents("order_items.line_total_cents"),
            diesel::dsl::sql::<BigInt>("count(DISTINCT order_items.order_id)"),
        ))
        .order(sum(order_items::quantity).desc())
        .limit(limit)
        .load(conn)
        .await
}
