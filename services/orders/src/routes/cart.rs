//! `/api/cart*` (the guide's cart endpoints): the customer's cart with current prices and,
//! for the primary address, the estimated tax, delivery fee and total.

use super::addresses::AreaView;
use super::money;
use crate::cart::{self, Cart, CartLine, Packages};
use crate::state::AppState;
use actix_web::web;
use auth_token::{Authenticated, Customer};
use chrono::{DateTime, Utc};
use compliance::Rules;
use domain::{AddressId, Money, Problem, ProductId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/cart/add` and `PUT /api/cart/update`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartLineInput {
    pub product_id: ProductId,
    /// Packages (1 to the configured most, 10 by default).
    #[schema(minimum = 1)]
    pub quantity: u32,
}

impl From<&CartLineInput> for Packages {
    fn from(input: &CartLineInput) -> Self {
        Self {
            product: input.product_id,
            quantity: input.quantity,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineView {
    pub product_id: ProductId,
    /// Empty when catalog never announced the product.
    pub name: String,
    /// The product's type (`flower`, `edible`...); empty when catalog never announced it.
    pub product_type: String,
    pub image_url: Option<String>,
    pub quantity: u32,
    #[schema(value_type = Option<String>, example = "24.99")]
    pub unit_price: Option<Money>,
    #[schema(value_type = Option<String>, example = "49.98")]
    pub total_price: Option<Money>,
    /// False when the product is no longer for sale: remove it to check out.
    pub available: bool,
    /// Packages that can be ordered now.
    pub available_quantity: i64,
    pub added_at: DateTime<Utc>,
}

impl From<CartLine> for CartLineView {
    fn from(line: CartLine) -> Self {
        let product = line.product.as_ref();
        let quantity = line.entry.quantity;
        Self {
            product_id: line.entry.product_id,
            name: product.map(|p| p.name.clone()).unwrap_or_default(),
            product_type: product
                .map(|p| p.product_type.as_str().to_owned())
                .unwrap_or_default(),
            image_url: product
                .map(|p| p.primary_image_url.clone())
                .filter(|u| !u.is_empty()),
            quantity,
            unit_price: product.map(|p| money(p.price_cents)),
            total_price: product.map(|p| money(p.price_cents.saturating_mul(i64::from(quantity)))),
            available: line.available,
            available_quantity: product.map_or(0, |p| p.available_quantity),
            added_at: line.entry.added_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartEstimate {
    pub address_id: AddressId,
    pub service_area: AreaView,
    #[schema(value_type = Option<String>)]
    pub tax: Option<Money>,
    #[schema(value_type = Option<String>)]
    pub delivery_fee: Option<Money>,
    #[schema(value_type = Option<String>)]
    pub total: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    pub items: Vec<CartLineView>,
    pub item_count: u32,
    #[schema(value_type = String, example = "49.98")]
    pub subtotal: Money,
    /// Tax, delivery fee and total for the primary address; absent without one.
    pub estimate: Option<CartEstimate>,
    /// When the cart disappears if left untouched.
    pub expires_at: Option<DateTime<Utc>>,
}

impl CartView {
    fn new(cart: Cart, rules: &Rules) -> Self {
        let estimate = cart.estimate.as_ref().map(|e| {
            let quote = e.quote.as_ref();
            CartEstimate {
                address_id: e.address.id,
                service_area: AreaView::for_point(rules, e.address.point()),
                tax: quote.map(|q| money(q.taxes.total_cents)),
                delivery_fee: quote.map(|q| money(q.delivery_fee_cents)),
                total: quote.map(|q| money(q.total_cents)),
            }
        });
        Self {
            item_count: cart.item_count(),
            subtotal: money(cart.subtotal_cents),
            expires_at: cart.expires_at,
            items: cart.lines.into_iter().map(CartLineView::from).collect(),
            estimate,
        }
    }
}

fn answer(state: &AppState, cart: Cart) -> web::Json<CartView> {
    web::Json(CartView::new(cart, &state.rules))
}

/// The cart with current prices and, for the primary address, estimated tax, fee and total.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, description = "The cart", body = CartView)))]
pub async fn get_cart(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
) -> Result<web::Json<CartView>, Problem> {
    let cart = cart::contents(&state, customer.user_id()).await?;
    Ok(answer(&state, cart))
}

/// Adds packages of a product (to any already in the cart).
#[utoipa::path(post, path = "/api/cart/add", tag = "cart", security(("bearer" = [])), request_body = CartLineInput,
    responses((status = 200, description = "The cart with the product added", body = CartView),
        (status = 422, description = "`PRODUCT_UNAVAILABLE`, `INSUFFICIENT_STOCK`, or `BUSINESS_RULE`: over the per-line maximum (`maxQuantity`, `inCart`) or the cart is full")))]
pub async fn add_to_cart(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<CartLineInput>,
) -> Result<web::Json<CartView>, Problem> {
    let cart = cart::add(&state, customer.user_id(), Packages::from(&*body)).await?;
    Ok(answer(&state, cart))
}

/// Sets the quantity of a product already in the cart.
#[utoipa::path(put, path = "/api/cart/update", tag = "cart", security(("bearer" = [])), request_body = CartLineInput,
    responses((status = 200, description = "The cart with the new quantity", body = CartView),
        (status = 404, description = "`NOT_FOUND`: the product is not in the cart"),
        (status = 422, description = "`PRODUCT_UNAVAILABLE`, `INSUFFICIENT_STOCK`, or `BUSINESS_RULE`: more than can be ordered now")))]
pub async fn update_cart(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    body: web::Json<CartLineInput>,
) -> Result<web::Json<CartView>, Problem> {
    let cart = cart::update(&state, customer.user_id(), Packages::from(&*body)).await?;
    Ok(answer(&state, cart))
}

/// Takes a product out of the cart.
#[utoipa::path(delete, path = "/api/cart/remove/{product_id}", tag = "cart", security(("bearer" = [])),
    params(("product_id" = ProductId, Path, description = "The product to take out")),
    responses((status = 200, description = "The cart without the product", body = CartView),
        (status = 404, description = "`NOT_FOUND`: the product is not in the cart")))]
pub async fn remove_from_cart(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    product: web::Path<ProductId>,
) -> Result<web::Json<CartView>, Problem> {
    let cart = cart::remove(&state, customer.user_id(), *product).await?;
    Ok(answer(&state, cart))
}
