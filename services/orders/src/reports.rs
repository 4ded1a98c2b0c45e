//! The admin report over a period: customers (all, new, active), orders placed and
//! delivered with their revenue, the best-selling products and the products running low.

use crate::db;
use crate::db::products::ProductRow;
use crate::db::reports::ProductSales;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use domain::{FieldError, Problem};

/// The report's figures for `[from, to)`.
#[derive(Debug, Clone)]
pub struct Figures {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Customers registered before the end of the period.
    pub customers: i64,
    /// Customers registered within the period.
    pub new_customers: i64,
    /// Users who used the app (events) or ordered within the period.
    pub active_users: i64,
    pub placed: i64,
    pub delivered: i64,
    /// What delivered orders came to (goods, tax and fees), in cents.
    pub revenue_cents: i64,
    /// The ten products sold most (by packages) in delivered orders.
    pub top_products: Vec<ProductSales>,
    /// Up to 50 products for sale with at most the low-stock threshold available.
    pub low_stock: Vec<ProductRow>,
}

impl Figures {
    /// Revenue per delivered order, in cents (0 without any).
    pub const fn average_order_cents(&self) -> i64 {
        if self.delivered > 0 {
            self.revenue_cents / self.delivered
        } else {
            0
        }
    }
}

/// The report for `[from, to)`.
///
/// # Errors
/// `400` when `from` is not before `to`.
pub async fn report(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Figures, Problem> {
    if from >= to {
        return Err(Problem::validation(vec![FieldError::new(
            "from",
            "must be before `to`",
        )]));
    }
    let period = (from, to);
    let mut conn = state.db().await?;
    let (customers, new_customers) = db::reports::users(&mut conn, period).await?;
    let active_users = db::reports::active_users(&mut conn, period).await?;
    let (placed, delivered, revenue_cents) = db::reports::orders(&mut conn, period).await?;
    let top_products = db::reports::top_products(&mut conn, period, 10).await?;
    let low_stock =
        db::products::low_stock(&mut conn, state.config.orders_low_stock_threshold, 50).await?;
    Ok(Figures {
        from,
        to,
        customers,
        new_customers,
        active_users,
        placed,
        delivered,
        revenue_cents,
        top_products,
        low_stock,
    })
}
