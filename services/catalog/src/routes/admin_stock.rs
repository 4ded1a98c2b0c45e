//! `/api/admin/products/{id}/stock*` and `/api/admin/products/low-stock`: counts and
//! changes of stock on hand with their reasons, the history, and the low-stock report.

use crate::db::inventory::{HistoryKind, HistoryRow};
use crate::db::products::ProductRow;
use crate::inventory::{self, StockChange};
use crate::routes::admin_products::MAX_STOCK;
use crate::routes::products::ProductView;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, FieldError, Validation};
use domain::{Listed, OrderId, Page, Pagination, PaginationQuery, Problem, ProductId, UserId};
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockRequest {
    /// `PUT .../stock`: the counted stock on hand, 0 to 1 000 000.
    pub quantity: Option<i64>,
    /// `POST .../stock/adjustments`: packages received (positive) or written off (negative),
    /// not 0, at most 1 000 000 either way.
    pub change: Option<i64>,
    /// Why (kept in the inventory history), e.g. "weekly count" or "damaged in transit";
    /// 3 to 200 characters.
    pub reason: Option<String>,
}

/// Which of the two stock requests a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StockForm {
    /// `quantity`: a count.
    Count,
    /// `change`: a difference.
    Adjustment,
}

impl StockRequest {
    fn parse(&self, form: StockForm) -> Result<(StockChange, String), Problem> {
        let mut v = Validation::new();
        let (field, value, lowest) = match form {
            StockForm::Count => ("quantity", self.quantity, 0),
            StockForm::Adjustment => ("change", self.change, -MAX_STOCK),
        };
        let change = match value {
            None => {
                v.add(field, "is required");
                None
            }
            Some(0) if form == StockForm::Adjustment => {
                v.add(field, "must not be 0");
                None
            }
            Some(n) if (lowest..=MAX_STOCK).contains(&n) => {
                i32::try_from(n).ok().map(|n| match form {
                    StockForm::Count => StockChange::Set(n),
                    StockForm::Adjustment => StockChange::Adjust(n),
                })
            }
            Some(_) => {
                v.add(field, format!("must be between {lowest} and {MAX_STOCK}"));
                None
            }
        };
        let reason = v.required(
            "reason",
            self.reason.as_deref(),
            BoundedText::<3, 200>::parse,
        );
        v.finish(|| Some((change?, reason?.into_inner())))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockView {
    pub product_id: ProductId,
    pub stock_quantity: i32,
    /// Held by open orders.
    pub reserved_quantity: i32,
    /// What can be ordered now.
    pub available_quantity: i32,
}

impl From<&ProductRow> for StockView {
    fn from(row: &ProductRow) -> Self {
        Self {
            product_id: row.id,
            stock_quantity: row.stock_quantity,
            reserved_quantity: row.reserved_quantity,
            available_quantity: row.available(),
        }
    }
}

async fn change_stock(
    state: &AppState,
    admin: &Acting<Admin>,
    id: ProductId,
    body: &StockRequest,
    form: StockForm,
) -> Result<web::Json<StockView>, Problem> {
    let (change, reason) = body.parse(form)?;
    let row = inventory::change(state, admin, id, change, &reason).await?;
    Ok(web::Json(StockView::from(&row)))
}

/// Set stock on hand (a count); never below what open orders hold.
#[utoipa::path(put, path = "/api/admin/products/{id}/stock", tag = "admin", request_body = StockRequest,
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's stock now", body = StockView),
        (status = 404, description = "`NOT_FOUND`: no such product"),
        (status = 409, description = "`CONFLICT`: below what open orders hold")),
    security(("bearer" = [])))]
pub async fn set_stock(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
    body: web::Json<StockRequest>,
) -> Result<web::Json<StockView>, Problem> {
    change_stock(&state, &admin, *id, &body, StockForm::Count).await
}

/// Add received packages or write some off.
#[utoipa::path(post, path = "/api/admin/products/{id}/stock/adjustments", tag = "admin", request_body = StockRequest,
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's stock now", body = StockView),
        (status = 404, description = "`NOT_FOUND`: no such product"),
        (status = 409, description = "`CONFLICT`: below what open orders hold, or below zero")),
    security(("bearer" = [])))]
pub async fn adjust_stock(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
    body: web::Json<StockRequest>,
) -> Result<web::Json<StockView>, Problem> {
    change_stock(&state, &admin, *id, &body, StockForm::Adjustment).await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub kind: HistoryKind,
    /// Packages added (positive) or taken out (negative).
    pub change: i32,
    pub quantity_after: i32,
    pub reason: String,
    /// The admin who made the change (none for sales and the demo catalog).
    pub actor_id: Option<UserId>,
    /// The delivered order, for sales.
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

impl Listed for HistoryEntry {
    const KEY: &'static str = "entries";
}

impl From<HistoryRow> for HistoryEntry {
    fn from(row: HistoryRow) -> Self {
        Self {
            kind: row.kind,
            change: row.change,
            quantity_after: row.quantity_after,
            reason: row.reason,
            actor_id: row.actor_id,
            order_id: row.order_id,
            created_at: row.created_at,
        }
    }
}

/// Every change of a product's stock on hand, newest first.
#[utoipa::path(get, path = "/api/admin/products/{id}/stock/history", tag = "admin",
    params(("id" = ProductId, Path, description = "The product"), PaginationQuery),
    responses((status = 200, description = "A page of the history", body = Page<HistoryEntry>),
        (status = 404, description = "`NOT_FOUND`: no such product")),
    security(("bearer" = [])))]
pub async fn list_stock_history(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<ProductId>,
    page: Pagination,
) -> Result<web::Json<Page<HistoryEntry>>, Problem> {
    let (rows, total) = inventory::history(&state, *id, &page).await?;
    Ok(web::Json(
        Page::new(rows, total, page).map(HistoryEntry::from),
    ))
}

/// The highest threshold a report may ask for.
const MAX_THRESHOLD: i32 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LowStockQuery {
    /// Available packages at or below which a product is listed (default from
    /// `CATALOG_LOW_STOCK_THRESHOLD`, 10).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 100000)]
    pub threshold: Option<String>,
}

impl LowStockQuery {
    fn parse(&self, default: i32) -> Result<i32, Problem> {
        match self
            .threshold
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => Ok(default),
            Some(text) => text
                .parse::<i32>()
                .ok()
                .filter(|t| (0..=MAX_THRESHOLD).contains(t))
                .ok_or_else(|| {
                    Problem::validation(vec![FieldError::new(
                        "threshold",
                        "must be a whole number from 0 to 100000",
                    )])
                }),
        }
    }
}

/// The low-stock report: the threshold used and the products at or below it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LowStockReport {
    pub threshold: i32,
    /// Every such product (`{products, total, hasMore: false}`).
    #[serde(flatten)]
    pub products: Page<ProductView>,
}

/// Products on sale that are running out (the guide's analytics `lowStock`), fewest first.
#[utoipa::path(get, path = "/api/admin/products/low-stock", tag = "admin", params(LowStockQuery),
    responses((status = 200, description = "The report", body = LowStockReport)),
    security(("bearer" = [])))]
pub async fn list_low_stock_products(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<LowStockQuery>,
) -> Result<web::Json<LowStockReport>, Problem> {
    let threshold = query.parse(state.config.catalog_low_stock_threshold)?;
    let cards = inventory::low_stock(&state, threshold).await?;
    Ok(web::Json(LowStockReport {
        threshold,
        products: Page::all(ProductView::all(&cards, state.public_url())),
    }))
}
