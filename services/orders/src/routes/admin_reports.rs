//! `/api/admin/reports` and `/api/admin/track-and-trace`: admins read the report over a period
//! and the track-and-trace receipts of delivered orders.

use super::admin_orders::{DayEdge, instant};
use super::money;
use crate::db;
use crate::db::track_and_trace::{ReceiptStatus, ReportRow};
use crate::reports::{self, Figures};
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::{
    FieldError, Listed, Money, OrderId, Page, Pagination, PaginationQuery, Problem, ProductId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsersReport {
    /// Customers registered before the end of the period.
    pub total: i64,
    /// Customers registered within the period.
    pub new_users: i64,
    /// Users who used the app (events) or ordered within the period.
    pub active_users: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersReport {
    /// Orders placed within the period.
    pub placed: i64,
    /// Orders delivered within the period.
    pub delivered: i64,
    /// What delivered orders came to (goods, tax and fees).
    #[schema(value_type = String)]
    pub revenue: Money,
    #[schema(value_type = String)]
    pub average_order_value: Money,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopProduct {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: i64,
    #[schema(value_type = String)]
    pub revenue: Money,
    pub orders: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LowStockProduct {
    pub product_id: ProductId,
    pub name: String,
    pub available_quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub period: Period,
    pub users: UsersReport,
    pub orders: OrdersReport,
    pub top_products: Vec<TopProduct>,
    pub low_stock: Vec<LowStockProduct>,
}

impl From<Figures> for Report {
    fn from(f: Figures) -> Self {
        Self {
            period: Period {
                start_date: f.from,
                end_date: f.to,
            },
            users: UsersReport {
                total: f.customers,
                new_users: f.new_customers,
                active_users: f.active_users,
            },
            orders: OrdersReport {
                placed: f.placed,
                delivered: f.delivered,
                revenue: money(f.revenue_cents),
                average_order_value: money(f.average_order_cents()),
            },
            top_products: f
                .top_products
                .into_iter()
                .map(|p| TopProduct {
                    product_id: p.product_id,
                    name: p.name,
                    quantity: p.quantity.unwrap_or(0),
                    revenue: money(p.revenue_cents.unwrap_or(0)),
                    orders: p.orders,
                })
                .collect(),
            low_stock: f
                .low_stock
                .into_iter()
                .map(|p| LowStockProduct {
                    product_id: p.id,
                    name: p.name,
                    available_quantity: p.available_quantity,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Start (a date or an RFC 3339 time); default 30 days before `to`.
    pub from: Option<String>,
    /// End, exclusive (a date includes that whole day); default now.
    pub to: Option<String>,
}

/// Users, active users, orders and revenue, top-selling products and low stock.
#[utoipa::path(get, path = "/api/admin/reports", tag = "admin", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, description = "The report over the period", body = Report)))]
pub async fn get_report(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<ReportQuery>,
) -> Result<web::Json<Report>, Problem> {
    let to = instant("to", query.to.as_deref(), DayEdge::End)?.unwrap_or_else(Utc::now);
    let from = instant("from", query.from.as_deref(), DayEdge::Start)?
        .unwrap_or(to - chrono::Duration::days(30));
    let figures = reports::report(&state, from, to).await?;
    Ok(web::Json(Report::from(figures)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    pub order_id: OrderId,
    pub jurisdiction: String,
    pub status: ReceiptStatus,
    /// The adapter that accepted it (`table` or `metrc`); empty while pending.
    pub adapter: String,
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

impl Listed for ReceiptView {
    const KEY: &'static str = "receipts";
}

impl From<ReportRow> for ReceiptView {
    fn from(r: ReportRow) -> Self {
        Self {
            order_id: r.order_id,
            jurisdiction: r.jurisdiction,
            status: r.status,
            adapter: r.adapter,
            receipt: r.receipt,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            accepted_at: r.accepted_at,
        }
    }
}

/// The receipts' filter (taken as text, so a bad value is answered naming the field).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// Only receipts in this status.
    #[param(value_type = Option<ReceiptStatus>)]
    pub status: Option<String>,
}

impl ReceiptQuery {
    fn status(&self) -> Result<Option<ReceiptStatus>, Problem> {
        self.status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| {
                    Problem::validation(vec![FieldError::new(
                        "status",
                        "must be pending or accepted",
                    )])
                })
            })
            .transpose()
    }
}

/// The track-and-trace sales receipts of delivered orders, newest first.
#[utoipa::path(get, path = "/api/admin/track-and-trace", tag = "admin", security(("bearer" = [])), params(ReceiptQuery, PaginationQuery),
    responses((status = 200, description = "A page of receipts", body = Page<ReceiptView>)))]
pub async fn list_receipts(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    pagination: Pagination,
    query: web::Query<ReceiptQuery>,
) -> Result<web::Json<Page<ReceiptView>>, Problem> {
    let status = query.status()?;
    let mut conn = state.db().await?;
    let (rows, total) = db::track_and_trace::list(&mut conn, status, pagination).await?;
    let total = u64::try_from(total).unwrap_or(0);
    Ok(web::Json(
        Page::new(rows, total, pagination).map(ReceiptView::from),
    ))
}
