//! The guide's cart endpoints.

use crate::shopping::{self, CartLineInput, CartView};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::{Authenticated, Customer};
use domain::Problem;
use uuid::Uuid;

async fn answer(state: &AppState, user: Uuid) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(shopping::view(state, user).await?))
}

/// The cart with current prices and, for the primary address, estimated tax, fee and total.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartView), (status = 401, body = domain::ProblemBody)))]
pub async fn get_cart(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
) -> Result<HttpResponse, Problem> {
    answer(&state, user.user_id().into_inner()).await
}

/// Adds packages of a product (to any already in the cart).
#[utoipa::path(post, path = "/api/cart/add", tag = "cart", security(("bearer" = [])), request_body = CartLineInput,
    responses((status = 200, body = CartView), (status = 400, body = domain::ProblemBody),
        (status = 422, description = "PRODUCT_UNAVAILABLE, INSUFFICIENT_STOCK or over the per-line maximum", body = domain::ProblemBody)))]
pub async fn add_to_cart(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    body: web::Json<CartLineInput>,
) -> Result<HttpResponse, Problem> {
    let user = user.user_id().into_inner();
    shopping::add(&state, user, &body).await?;
    answer(&state, user).await
}

/// Sets the quantity of a product already in the cart.
#[utoipa::path(put, path = "/api/cart/update", tag = "cart", security(("bearer" = [])), request_body = CartLineInput,
    responses((status = 200, body = CartView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 422, body = domain::ProblemBody)))]
pub async fn update_cart(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    body: web::Json<CartLineInput>,
) -> Result<HttpResponse, Problem> {
    let user = user.user_id().into_inner();
    shopping::update(&state, user, &body).await?;
    answer(&state, user).await
}

/// Takes a product out of the cart.
#[utoipa::path(delete, path = "/api/cart/remove/{product_id}", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartView), (status = 404, body = domain::ProblemBody)))]
pub async fn remove_from_cart(
    state: web::Data<AppState>,
    user: Authenticated<Customer>,
    product: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let user = user.user_id().into_inner();
    shopping::remove(&state, user, *product).await?;
    answer(&state, user).await
}
