//! Admins: every order with filters, moving an order on, assigning drivers, the report and
//! the track-and-trace receipts.

use crate::db;
use crate::db::orders::OrderFilter;
use crate::fulfilment::{self, StaffStatus};
use crate::insights::{self, Report};
use crate::routes::actor;
use crate::routes::orders::{OrderList, StatusQuery, detail, page, statuses};
use crate::state::AppState;
use crate::views::OrderDetail;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{FieldError, Instructions, Pagination, PaginationQuery, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Who may manage orders: admins only. Support agents do support (DESIGN §6): once chat
/// exists they will read an order linked to a ticket they handle, through a route that checks
/// that link; nothing under `/api/admin/orders` is theirs (every address, cancelling and so
/// refunding any order).
type OrderManager = Authenticated<Admin>;

/// A date (`2026-11-24`, the start of that UTC day) or an RFC 3339 instant.
fn instant(
    field: &str,
    raw: Option<&str>,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, Problem> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        Problem::validation(vec![FieldError::new(
            field,
            "must be a date (YYYY-MM-DD) or an RFC 3339 time",
        )])
    })?;
    let day = if end_of_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// Placed at or after (date or RFC 3339 time).
    pub from: Option<String>,
    /// Placed before (a date includes that whole day).
    pub to: Option<String>,
    /// Service area id, e.g. `austin`.
    pub zone: Option<String>,
}

/// Every order, newest first, by status, date range and zone.
#[utoipa::path(get, path = "/api/admin/orders", tag = "admin", security(("bearer" = [])),
    params(StatusQuery, AdminOrderQuery, PaginationQuery),
    responses((status = 200, body = OrderList), (status = 400, body = domain::ProblemBody), (status = 403, body = domain::ProblemBody)))]
pub async fn list_all_orders(
    state: web::Data<AppState>,
    _admin: OrderManager,
    pagination: Pagination,
    status: web::Query<StatusQuery>,
    query: web::Query<AdminOrderQuery>,
) -> Result<HttpResponse, Problem> {
    let filter = OrderFilter {
        statuses: statuses(status.status.as_deref())?,
        from: instant("from", query.from.as_deref(), false)?,
        to: instant("to", query.to.as_deref(), true)?,
        zone: query.zone.clone().filter(|z| !z.is_empty()),
        ..OrderFilter::default()
    };
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(page(&mut conn, &filter, pagination).await?))
}

/// Any order in full.
#[utoipa::path(get, path = "/api/admin/orders/{id}", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = OrderDetail), (status = 403, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody)))]
pub async fn get_any_order(
    state: web::Data<AppState>,
    _admin: OrderManager,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let order = db::orders::find(&mut conn, *id)
        .await?
        .ok_or_else(|| fulfilment::not_found(*id))?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusInput {
    /// `preparing` (from confirmed) or `cancelled`.
    pub status: StaffStatus,
    /// A note for the history; required to cancel.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Option<Instructions>,
}

/// Moves an order on: `confirmed → preparing`, or cancels it with a note.
#[utoipa::path(post, path = "/api/admin/orders/{id}/status", tag = "admin", security(("bearer" = [])), request_body = StatusInput,
    responses((status = 200, body = OrderDetail), (status = 400, body = domain::ProblemBody), (status = 403, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)))]
pub async fn set_order_status(
    state: web::Data<AppState>,
    admin: OrderManager,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<StatusInput>,
) -> Result<HttpResponse, Problem> {
    let StatusInput { status, note } = body.into_inner();
    let note = note.filter(|n| !n.is_empty());
    if status == StaffStatus::Cancelled && note.is_none() {
        return Err(Problem::validation(vec![FieldError::new(
            "note",
            "say why the order is cancelled",
        )]));
    }
    let actor = actor(admin.user_id().into_inner(), admin.role(), client);
    let order = fulfilment::set_status_by_staff(
        &state,
        &actor,
        *id,
        status,
        note.as_ref().map(|n| n.as_str()),
    )
    .await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignInput {
    pub driver_id: Uuid,
}

/// Assigns (or reassigns) an active driver to a confirmed or preparing order.
#[utoipa::path(post, path = "/api/admin/orders/{id}/assign-driver", tag = "admin", security(("bearer" = [])), request_body = AssignInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody),
        (status = 409, body = domain::ProblemBody), (status = 422, description = "Not a driver", body = domain::ProblemBody)))]
pub async fn assign_driver(
    state: web::Data<AppState>,
    admin: OrderManager,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<AssignInput>,
) -> Result<HttpResponse, Problem> {
    let actor = actor(admin.user_id().into_inner(), admin.role(), client);
    let order = fulfilment::assign_driver(&state, &actor, *id, body.driver_id).await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Start (date or RFC 3339 time); default 30 days before `to`.
    pub from: Option<String>,
    /// End, exclusive (a date includes that whole day); default now.
    pub to: Option<String>,
}

/// Users, active users, orders and revenue, top-selling products and low stock.
#[utoipa::path(get, path = "/api/admin/reports", tag = "admin", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = Report), (status = 400, body = domain::ProblemBody), (status = 403, body = domain::ProblemBody)))]
pub async fn report(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, Problem> {
    let to = instant("to", query.to.as_deref(), true)?.unwrap_or_else(Utc::now);
    let from =
        instant("from", query.from.as_deref(), false)?.unwrap_or(to - chrono::Duration::days(30));
    Ok(HttpResponse::Ok().json(insights::report(&state, from, to).await?))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    pub order_id: Uuid,
    pub jurisdiction: String,
    /// `pending` until track-and-trace accepted it, then `accepted`.
    pub status: String,
    pub adapter: String,
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptList {
    pub receipts: Vec<ReceiptView>,
    pub total: i64,
    pub has_more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// `pending` or `accepted`.
    pub status: Option<String>,
}

/// The track-and-trace sales receipts of delivered orders, newest first.
#[utoipa::path(get, path = "/api/admin/track-and-trace", tag = "admin", security(("bearer" = [])), params(ReceiptQuery, PaginationQuery),
    responses((status = 200, body = ReceiptList), (status = 400, body = domain::ProblemBody)))]
pub async fn list_receipts(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    pagination: Pagination,
    query: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, Problem> {
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !matches!(s, "pending" | "accepted")) {
        return Err(Problem::validation(vec![FieldError::new(
            "status",
            "must be pending or accepted",
        )]));
    }
    let mut conn = state.db().await?;
    let (rows, total) = db::trace::list(
        &mut conn,
        status,
        pagination.limit_i64(),
        pagination.offset_i64(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ReceiptList {
        receipts: rows
            .into_iter()
            .map(|r| ReceiptView {
                order_id: r.order_id,
                jurisdiction: r.jurisdiction,
                status: r.status,
                adapter: r.adapter,
                receipt: r.receipt,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: r.created_at,
                accepted_at: r.accepted_at,
            })
            .collect(),
        total,
        has_more: pagination.has_more(u64::try_from(total).unwrap_or(0)),
    }))
}
