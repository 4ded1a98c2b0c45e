//! `/api/users/addresses`: a customer's delivery addresses.

use crate::addresses::{self, AddressInput};
use crate::db;
use crate::state::AppState;
use crate::views::AddressView;
use actix_web::{HttpResponse, web};
use auth_token::{Authenticated, Customer};
use domain::Problem;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressList {
    pub addresses: Vec<AddressView>,
}

/// The customer's addresses, primary first, each with whether it is served.
#[utoipa::path(get, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])),
    responses((status = 200, body = AddressList), (status = 401, body = domain::ProblemBody)))]
pub async fn list_addresses(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let rows = db::addresses::list(&mut conn, user.user_id().into_inner()).await?;
    let addresses = rows
        .into_iter()
        .map(|r| AddressView::new(r, &state.rules))
        .collect();
    Ok(HttpResponse::Ok().json(AddressList { addresses }))
}

/// Saves an address (geocoded; the answer says whether it is inside a service area).
#[utoipa::path(post, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])), request_body = AddressInput,
    responses((status = 201, body = AddressView), (status = 400, body = domain::ProblemBody),
        (status = 422, body = domain::ProblemBody)))]
pub async fn create_address(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    body: web::Json<AddressInput>,
) -> Result<HttpResponse, Problem> {
    let row = addresses::create(&state, user.user_id().into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(AddressView::new(row, &state.rules)))
}

/// Replaces one of the customer's addresses.
#[utoipa::path(put, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])), request_body = AddressInput,
    responses((status = 200, body = AddressView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody)))]
pub async fn update_address(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    id: web::Path<Uuid>,
    body: web::Json<AddressInput>,
) -> Result<HttpResponse, Problem> {
    let row =
        addresses::replace(&state, user.user_id().into_inner(), *id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AddressView::new(row, &state.rules)))
}

/// Deletes one of the customer's addresses (placed orders keep their copy).
#[utoipa::path(delete, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = domain::ProblemBody)))]
pub async fn delete_address(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    addresses::delete(&state, user.user_id().into_inner(), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
