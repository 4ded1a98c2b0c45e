//! `orders` with their destinations, item snapshots, status history and idempotency keys.

use crate::products::ProductType;
use crate::schema::{
    idempotency_keys, order_destinations, order_items, order_status_history, orders,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{
    AddressId, OrderId, OrderStatus, Pagination, PaymentMethodId, PaymentStatus, ProductId, Role,
    StockStatus, UserId,
};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: OrderId,
    pub order_number: String,
    pub customer_id: UserId,
    pub status: OrderStatus,
    pub stock_status: StockStatus,
    pub payment_status: PaymentStatus,
    /// Why the order is cancelled or its payment failed (a snake_case code).
    pub status_reason: Option<String>,
    pub status_detail: Option<String>,
    pub payment_method_id: Option<PaymentMethodId>,
    pub points_to_redeem: i64,
    pub payment_attempt: i32,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub delivery_fee_cents: i64,
    pub total_cents: i64,
    pub taxes: serde_json::Value,
    pub jurisdiction: String,
    pub service_area: String,
    pub distance_miles: f64,
    pub local_date: NaiveDate,
    pub special_instructions: Option<String>,
    pub driver_id: Option<UserId>,
    pub id_check: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When tracking expects the driver at the door (null until it publishes an ETA).
    pub estimated_delivery_at: Option<DateTime<Utc>>,
    /// When tracking computed that estimate (a later estimate replaces it, an older never).
    pub eta_computed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_destinations)]
pub struct DestinationRow {
    pub order_id: OrderId,
    pub address_id: AddressId,
    pub address_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip_code: String,
    pub latitude: f64,
    pub longitude: f64,
    pub delivery_instructions: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
pub struct ItemRow {
    pub id: Uuid,
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub product_name: String,
    pub product_type: ProductType,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
    pub net_weight_mg: i64,
    pub thc_mg: i64,
    pub package_label: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_status_history)]
pub struct HistoryRow {
    pub id: i64,
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub stock_status: StockStatus,
    pub payment_status: PaymentStatus,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = order_status_history)]
pub struct NewHistory<'a> {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub stock_status: StockStatus,
    pub payment_status: PaymentStatus,
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
}

/// The next order number's sequence value.
pub async fn next_number(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('order_number_seq')",
    ))
    .get_result(conn)
    .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    destination: &DestinationRow,
    items: &[ItemRow],
) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values(order)
        .execute(conn)
        .await?;
    diesel::insert_into(order_destinations::table)
        .values(destination)
        .execute(conn)
        .await?;
    diesel::insert_into(order_items::table)
        .values(items)
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps tracking's estimate of `order`'s arrival, unless one computed later is kept already
/// (events may arrive out of order). Answers whether it changed the order.
pub async fn set_eta(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    arrival: DateTime<Utc>,
    computed_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(orders::table)
        .filter(orders::id.eq(order))
        .filter(
            orders::eta_computed_at
                .is_null()
                .or(orders::eta_computed_at.lt(computed_at)),
        )
        .set((
            orders::estimated_delivery_at.eq(arrival),
            orders::eta_computed_at.eq(computed_at),
        ))
        .execute(conn)
        .await?;
    Ok(changed > 0)
}

pub async fn find(conn: &mut AsyncPgConnection, id: OrderId) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The order, locked until the transaction ends: every status change goes through here.
pub async fn lock(conn: &mut AsyncPgConnection, id: OrderId) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .for_update()
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn destination(
    conn: &mut AsyncPgConnection,
    order: OrderId,
) -> QueryResult<Option<DestinationRow>> {
    order_destinations::table
        .find(order)
        .select(DestinationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn items(conn: &mut AsyncPgConnection, order: OrderId) -> QueryResult<Vec<ItemRow>> {
    order_items::table
        .filter(order_items::order_id.eq(order))
        .order(order_items::product_name.asc())
        .select(ItemRow::as_select())
        .load(conn)
        .await
}

pub async fn items_of(
    conn: &mut AsyncPgConnection,
    orders: &[OrderId],
) -> QueryResult<Vec<ItemRow>> {
    order_items::table
        .filter(order_items::order_id.eq_any(orders))
        .order(order_items::product_name.asc())
        .select(ItemRow::as_select())
        .load(conn)
        .await
}

pub async fn history(conn: &mut AsyncPgConnection, order: OrderId) -> QueryResult<Vec<HistoryRow>> {
    order_status_history::table
        .filter(order_status_history::order_id.eq(order))
        .order(order_status_history::id.asc())
        .select(HistoryRow::as_select())
        .load(conn)
        .await
}

pub async fn add_history(conn: &mut AsyncPgConnection, entry: NewHistory<'_>) -> QueryResult<()> {
    diesel::insert_into(order_status_history::table)
        .values(entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes the order's mutable fields back (the caller holds its lock).
pub async fn save(conn: &mut AsyncPgConnection, order: &OrderRow) -> QueryResult<()> {
    diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(order.status),
            orders::stock_status.eq(order.stock_status),
            orders::payment_status.eq(order.payment_status),
            orders::status_reason.eq(&order.status_reason),
            orders::status_detail.eq(&order.status_detail),
            orders::payment_attempt.eq(order.payment_attempt),
            orders::driver_id.eq(order.driver_id),
            orders::id_check.eq(&order.id_check),
            orders::updated_at.eq(order.updated_at),
            orders::confirmed_at.eq(order.confirmed_at),
            orders::delivered_at.eq(order.delivered_at),
            orders::cancelled_at.eq(order.cancelled_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What `customer` bought (or has on the way) on `day`: lines of orders not cancelled.
pub async fn items_on_day(
    conn: &mut AsyncPgConnection,
    customer: UserId,
    day: NaiveDate,
) -> QueryResult<Vec<ItemRow>> {
    order_items::table
        .inner_join(orders::table)
        .filter(orders::customer_id.eq(customer))
        .filter(orders::local_date.eq(day))
        .filter(orders::status.ne(OrderStatus::Cancelled))
        .select(ItemRow::as_select())
        .load(conn)
        .await
}

/// Filters of the order lists.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub customer: Option<UserId>,
    pub driver: Option<UserId>,
    pub statuses: Vec<OrderStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub zone: Option<String>,
}

fn filtered(filter: &OrderFilter) -> orders::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = orders::table.into_boxed();
    if let Some(customer) = filter.customer {
        query = query.filter(orders::customer_id.eq(customer));
    }
    if let Some(driver) = filter.driver {
        query = query.filter(orders::driver_id.eq(driver));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(orders::status.eq_any(filter.statuses.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(orders::created_at.lt(to));
    }
    if let Some(zone) = &filter.zone {
        query = query.filter(orders::service_area.eq(zone.clone()));
    }
    query
}

/// One page of orders, newest first, and how many match.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &OrderFilter,
    page: Pagination,
) -> QueryResult<(Vec<OrderRow>, i64)> {
    let total = filtered(filter).count().get_result(conn).await?;
    let rows = filtered(filter)
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(OrderRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Orders in `status` since before `before`, locked for the timer (others skip them).
/// `pending` counts from checkout (the grace period is the whole saga's); other statuses
/// from their last change.
pub async fn lock_stale(
    conn: &mut AsyncPgConnection,
    status: OrderStatus,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<OrderRow>> {
    // Locking queries cannot be boxed in diesel, hence two whole queries.
    if status == OrderStatus::Pending {
        orders::table
            .filter(orders::status.eq(status))
            .filter(orders::created_at.lt(before))
            .order(orders::created_at.asc())
            .limit(limit)
            .for_update()
            .skip_locked()
            .select(OrderRow::as_select())
            .load(conn)
            .await
    } else {
        orders::table
            .filter(orders::status.eq(status))
            .filter(orders::updated_at.lt(before))
            .order(orders::updated_at.asc())
            .limit(limit)
            .for_update()
            .skip_locked()
            .select(OrderRow::as_select())
            .load(conn)
            .await
    }
}

/// Orders per status (the `orders_by_status` gauge).
pub async fn count_by_status(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrderStatus, i64)>> {
    orders::table
        .group_by(orders::status)
        .select((orders::status, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// When the oldest pending order was placed.
pub async fn oldest_pending(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::Pending))
        .select(diesel::dsl::min(orders::created_at))
        .first(conn)
        .await
}

pub async fn find_idempotency(
    conn: &mut AsyncPgConnection,
    customer: UserId,
    key: &str,
) -> QueryResult<Option<(String, OrderId)>> {
    idempotency_keys::table
        .find((customer, key))
        .select((idempotency_keys::request_hash, idempotency_keys::order_id))
        .first(conn)
        .await
        .optional()
}

/// Records the key; false when another request stored it first (the caller re-reads).
pub async fn insert_idempotency(
    conn: &mut AsyncPgConnection,
    customer: UserId,
    key: &str,
    hash: &str,
    order: OrderId,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::customer_id.eq(customer),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::order_id.eq(order),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}
