//! `/api/admin/orders*`: admins list and filter every order, read any order, move one on
//! (start preparing, or cancel with a note) and assign its driver.

use super::orders::{OrderDetail, OrderView, StatusQuery, detail, page};
use crate::db::orders::OrderFilter;
use crate::order_reads;
use crate::state::AppState;
use crate::status_changes::Access;
use crate::status_changes::staff::{self, StaffStatus, StaffStep};
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    FieldError, Instructions, OrderId, Page, Pagination, PaginationQuery, Problem, UserId,
};
use platform::client::Acting;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

// Who may manage orders: admins only. Support agents do support (DESIGN §6): once chat
// exists they will read an order linked to a ticket they handle, through a route that checks
// that link; nothing under `/api/admin/orders` is theirs (every address, cancelling and so
// refunding any order).

/// Which end of a day a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEdge {
    /// The day's first instant (`from`).
    Start,
    /// The next day's first instant, so the day is included (`to`, exclusive).
    End,
}

/// A date (`2026-11-24`) or an RFC 3339 instant, for `field`.
///
/// # Errors
/// `400` naming `field` when it is neither.
pub fn instant(
    field: &str,
    raw: Option<&str>,
    edge: DayEdge,
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
    let day = match edge {
        DayEdge::Start => day,
        DayEdge::End => day.succ_opt().unwrap_or(day),
    };
    Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// Placed at or after (a date or an RFC 3339 time).
    pub from: Option<String>,
    /// Placed before (a date includes that whole day).
    pub to: Option<String>,
    /// Service area id, e.g. `austin`.
    pub zone: Option<String>,
}

/// Every order, newest first, by status, date range and zone.
#[utoipa::path(get, path = "/api/admin/orders", tag = "admin", security(("bearer" = [])),
    params(StatusQuery, AdminOrderQuery, PaginationQuery),
    responses((status = 200, description = "A page of orders", body = Page<OrderView>)))]
pub async fn list_all_orders(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    pagination: Pagination,
    status: web::Query<StatusQuery>,
    query: web::Query<AdminOrderQuery>,
) -> Result<web::Json<Page<OrderView>>, Problem> {
    let filter = OrderFilter {
        statuses: status.statuses()?,
        from: instant("from", query.from.as_deref(), DayEdge::Start)?,
        to: instant("to", query.to.as_deref(), DayEdge::End)?,
        zone: query.zone.clone().filter(|z| !z.is_empty()),
        ..OrderFilter::default()
    };
    page(&state, &filter, pagination).await
}

/// Any order in full.
#[utoipa::path(get, path = "/api/admin/orders/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order in full", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order")))]
pub async fn get_any_order(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<OrderId>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let full = order_reads::find(&state, *id, Access::Admin).await?;
    Ok(web::Json(OrderDetail::from(full)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusInput {
    /// `preparing` (from confirmed) or `cancelled`.
    pub status: StaffStatus,
    /// A note for the history; required to cancel.
    #[serde(default)]
    pub note: Option<Instructions>,
}

/// Moves an order on: `confirmed → preparing`, or cancels it with a note.
#[utoipa::path(post, path = "/api/admin/orders/{id}/status", tag = "admin", security(("bearer" = [])), request_body = StatusInput,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order after the change", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: the order's status does not allow it")))]
pub async fn set_order_status(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<OrderId>,
    body: web::Json<StatusInput>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let StatusInput { status, note } = body.into_inner();
    let note = note.filter(|n| !n.is_empty());
    let note = note.as_ref().map(Instructions::as_str);
    let step = match (status, note) {
        (StaffStatus::Preparing, note) => StaffStep::Prepare(note),
        (StaffStatus::Cancelled, Some(note)) => StaffStep::Cancel(note),
        (StaffStatus::Cancelled, None) => {
            return Err(Problem::validation(vec![FieldError::new(
                "note",
                "say why the order is cancelled",
            )]));
        }
    };
    let order = staff::set_status(&state, &admin, *id, step).await?;
    detail(&state, order).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignInput {
    pub driver_id: UserId,
}

/// Assigns (or reassigns) an active driver to a confirmed or preparing order.
#[utoipa::path(post, path = "/api/admin/orders/{id}/assign-driver", tag = "admin", security(("bearer" = [])), request_body = AssignInput,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order with its driver", body = OrderDetail),
        (status = 403, description = "`ACCOUNT_SUSPENDED`: the driver's account is suspended (or `FORBIDDEN`: not an admin)"),
        (status = 404, description = "`NOT_FOUND`: no such order"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: the order is not confirmed or preparing"),
        (status = 422, description = "`BUSINESS_RULE`: the user is not a driver")))]
pub async fn assign_driver(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<OrderId>,
    body: web::Json<AssignInput>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let order = staff::assign_driver(&state, &admin, *id, body.driver_id).await?;
    detail(&state, order).await
}
