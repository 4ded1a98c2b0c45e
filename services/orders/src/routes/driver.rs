//! The driver app: only orders assigned to the driver; pick up, deliver after the ID check
//! at the door, or report a failed delivery.

use crate::db;
use crate::db::orders::OrderFilter;
use crate::fulfilment::{self, Access, FailureReason, IdCheck};
use crate::routes::actor;
use crate::routes::orders::{OrderList, StatusQuery, detail, page, statuses};
use crate::state::AppState;
use crate::views::OrderDetail;
use actix_web::{HttpResponse, web};
use auth_token::{Authenticated, Driver};
use chrono::NaiveDate;
use domain::{FieldError, Instructions, Pagination, PaginationQuery, Problem};
use events::v1;
use platform::client::ClientInfo;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Orders assigned to the driver, newest first.
#[utoipa::path(get, path = "/api/driver/orders", tag = "driver", security(("bearer" = [])), params(StatusQuery, PaginationQuery),
    responses((status = 200, body = OrderList), (status = 403, body = domain::ProblemBody)))]
pub async fn list_driver_orders(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    pagination: Pagination,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, Problem> {
    let filter = OrderFilter {
        driver: Some(driver.user_id().into_inner()),
        statuses: statuses(query.status.as_deref())?,
        ..OrderFilter::default()
    };
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(page(&mut conn, &filter, pagination).await?))
}

/// One order assigned to the driver, with the destination.
#[utoipa::path(get, path = "/api/driver/orders/{id}", tag = "driver", security(("bearer" = [])),
    responses((status = 200, body = OrderDetail), (status = 404, body = domain::ProblemBody)))]
pub async fn get_driver_order(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let order = db::orders::find(&mut conn, *id)
        .await?
        .filter(|o| Access::Driver(driver.user_id().into_inner()).allows(o))
        .ok_or_else(|| fulfilment::not_found(*id))?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

/// The driver has the order: `preparing → out_for_delivery`.
#[utoipa::path(post, path = "/api/driver/orders/{id}/pickup", tag = "driver", security(("bearer" = [])),
    responses((status = 200, body = OrderDetail), (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)))]
pub async fn pick_up(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    client: ClientInfo,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = actor(driver.user_id().into_inner(), driver.role(), client);
    let order = fulfilment::pick_up(&state, &actor, *id).await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

/// The kind of ID shown at the door.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    DriversLicense,
    StateId,
    Passport,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliverInput {
    pub id_document_type: DocumentType,
    /// The birth date printed on the ID (YYYY-MM-DD).
    #[schema(value_type = String, example = "1990-05-17")]
    pub date_of_birth: String,
    /// Where the driver is (optional).
    #[schema(value_type = Option<Object>)]
    pub location: Option<geo::Point>,
}

/// Hands the order over after the ID check: the ID must show the customer's birth date and
/// an age of 21 or more, or the answer is 422 `ID_CHECK_FAILED` and nothing is delivered.
#[utoipa::path(post, path = "/api/driver/orders/{id}/deliver", tag = "driver", security(("bearer" = [])), request_body = DeliverInput,
    responses((status = 200, body = OrderDetail), (status = 400, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody),
        (status = 409, body = domain::ProblemBody), (status = 422, description = "ID_CHECK_FAILED", body = domain::ProblemBody)))]
pub async fn deliver(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<DeliverInput>,
) -> Result<HttpResponse, Problem> {
    let input = body.into_inner();
    let date_of_birth =
        NaiveDate::parse_from_str(&input.date_of_birth, "%Y-%m-%d").map_err(|_| {
            Problem::validation(vec![FieldError::new(
                "dateOfBirth",
                "must be a date (YYYY-MM-DD)",
            )])
        })?;
    let (document, document_name) = match input.id_document_type {
        DocumentType::DriversLicense => (v1::IdDocumentType::DriversLicense, "drivers_license"),
        DocumentType::StateId => (v1::IdDocumentType::StateId, "state_id"),
        DocumentType::Passport => (v1::IdDocumentType::Passport, "passport"),
    };
    let actor = actor(driver.user_id().into_inner(), driver.role(), client);
    let check = IdCheck {
        document,
        document_name,
        date_of_birth,
        location: input.location,
    };
    let order = fulfilment::deliver(&state, &actor, *id, check).await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailDeliveryInput {
    pub reason: FailureReason,
    /// What happened, for staff and the customer (1–500 characters).
    #[schema(value_type = String)]
    pub note: Instructions,
}

/// The order could not be handed over: it is cancelled, the goods return to stock and the
/// payment is refunded.
#[utoipa::path(post, path = "/api/driver/orders/{id}/fail-delivery", tag = "driver", security(("bearer" = [])), request_body = FailDeliveryInput,
    responses((status = 200, body = OrderDetail), (status = 400, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody),
        (status = 409, body = domain::ProblemBody)))]
pub async fn fail_delivery(
    state: web::Data<AppState>,
    driver: Authenticated<Driver>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<FailDeliveryInput>,
) -> Result<HttpResponse, Problem> {
    let input = body.into_inner();
    if input.note.is_empty() {
        return Err(Problem::validation(vec![FieldError::new(
            "note",
            "say what happened",
        )]));
    }
    let actor = actor(driver.user_id().into_inner(), driver.role(), client);
    let order =
        fulfilment::fail_delivery(&state, &actor, *id, input.reason, input.note.as_str()).await?;
    let mut conn = state.db().await?;
    Ok(HttpResponse::Ok().json(detail(&mut conn, order).await?))
}
