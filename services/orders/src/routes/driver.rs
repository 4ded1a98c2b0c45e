//! `/api/driver/orders*`, the driver app: only orders assigned to the driver; pick up,
//! deliver after the ID check at the door, or report a failed delivery.

use super::orders::{OrderDetail, OrderView, StatusQuery, detail, page};
use crate::db::orders::OrderFilter;
use crate::order_reads;
use crate::state::AppState;
use crate::status_changes::Access;
use crate::status_changes::driver::{self as steps, FailureReason, IdCheck, IdDocument};
use actix_web::web;
use auth_token::{Authenticated, Driver};
use chrono::NaiveDate;
use domain::{FieldError, Instructions, OrderId, Page, Pagination, PaginationQuery, Problem};
use platform::client::Acting;
use serde::Deserialize;
use utoipa::ToSchema;

/// Orders assigned to the driver, newest first.
#[utoipa::path(get, path = "/api/driver/orders", tag = "driver", security(("bearer" = [])), params(StatusQuery, PaginationQuery),
    responses((status = 200, description = "A page of the driver's orders", body = Page<OrderView>)))]
pub async fn list_driver_orders(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    pagination: Pagination,
    query: web::Query<StatusQuery>,
) -> Result<web::Json<Page<OrderView>>, Problem> {
    let filter = OrderFilter {
        driver: Some(driver.user_id()),
        statuses: query.statuses()?,
        ..OrderFilter::default()
    };
    page(&state, &filter, pagination).await
}

/// One order assigned to the driver, with the destination.
#[utoipa::path(get, path = "/api/driver/orders/{id}", tag = "driver", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order in full", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order assigned to the driver")))]
pub async fn get_driver_order(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    id: web::Path<OrderId>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let full = order_reads::find(&state, *id, Access::Driver(driver.user_id())).await?;
    Ok(web::Json(OrderDetail::from(full)))
}

/// The driver has the order: `preparing → out_for_delivery`.
#[utoipa::path(post, path = "/api/driver/orders/{id}/pickup", tag = "driver", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The order, out for delivery", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order assigned to the driver"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: the order is not being prepared")))]
pub async fn pick_up_order(
    state: web::Data<AppState>,
    driver: Acting<Driver>,
    id: web::Path<OrderId>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let order = steps::pick_up(&state, &driver, *id).await?;
    detail(&state, order).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliverInput {
    pub id_document_type: IdDocument,
    /// The birth date printed on the ID (YYYY-MM-DD).
    #[schema(value_type = String, format = Date, example = "1990-05-17")]
    pub date_of_birth: String,
    /// Where the driver is (optional).
    #[schema(value_type = Option<Object>)]
    pub location: Option<geo::Point>,
}

impl DeliverInput {
    fn parse(self) -> Result<IdCheck, Problem> {
        let date_of_birth =
            NaiveDate::parse_from_str(&self.date_of_birth, "%Y-%m-%d").map_err(|_| {
                Problem::validation(vec![FieldError::new(
                    "dateOfBirth",
                    "must be a date (YYYY-MM-DD)",
                )])
            })?;
        Ok(IdCheck {
            document: self.id_document_type,
            date_of_birth,
            location: self.location,
        })
    }
}

/// Hands the order over after the ID check: the ID must show the customer's birth date and
/// an age of 21 or more, or the answer is 422 `ID_CHECK_FAILED` and nothing is delivered.
#[utoipa::path(post, path = "/api/driver/orders/{id}/deliver", tag = "driver", security(("bearer" = [])), request_body = DeliverInput,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The delivered order", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order assigned to the driver"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: the order is not out for delivery"),
        (status = 422, description = "`ID_CHECK_FAILED` (`reason`: `under_age` or `birth_date_mismatch`): do not hand it over")))]
pub async fn deliver_order(
    state: web::Data<AppState>,
    driver: Acting<Driver>,
    id: web::Path<OrderId>,
    body: web::Json<DeliverInput>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let check = body.into_inner().parse()?;
    let order = steps::deliver(&state, &driver, *id, check).await?;
    detail(&state, order).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailDeliveryInput {
    pub reason: FailureReason,
    /// What happened, for staff and the customer (1–500 characters).
    pub note: Instructions,
}

/// The order could not be handed over: it is cancelled, the goods return to stock and the
/// payment is refunded.
#[utoipa::path(post, path = "/api/driver/orders/{id}/fail-delivery", tag = "driver", security(("bearer" = [])), request_body = FailDeliveryInput,
    params(("id" = OrderId, Path, description = "The order")),
    responses((status = 200, description = "The cancelled order", body = OrderDetail),
        (status = 404, description = "`NOT_FOUND`: no such order assigned to the driver"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: the order is not out for delivery")))]
pub async fn fail_delivery(
    state: web::Data<AppState>,
    driver: Acting<Driver>,
    id: web::Path<OrderId>,
    body: web::Json<FailDeliveryInput>,
) -> Result<web::Json<OrderDetail>, Problem> {
    let input = body.into_inner();
    if input.note.is_empty() {
        return Err(Problem::validation(vec![FieldError::new(
            "note",
            "say what happened",
        )]));
    }
    let order =
        steps::fail_delivery(&state, &driver, *id, input.reason, input.note.as_str()).await?;
    detail(&state, order).await
}
