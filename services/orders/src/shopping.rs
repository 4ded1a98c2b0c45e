//! The cart's rules and its answer: only active products, 1 to the configured most packages
//! per line, never more than is available; the answer prices every line from the read model
//! and estimates tax, delivery fee and total for the customer's primary address.

use crate::cart::CartError;
use crate::db;
use crate::pricing::{self, Line};
use crate::state::AppState;
use crate::views::{AreaView, money};
use chrono::Utc;
use domain::{Code, FieldError, Money, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/cart/add` and `PUT /api/cart/update`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartLineInput {
    pub product_id: Uuid,
    /// Packages (1 to the configured most, 10 by default).
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineView {
    pub product_id: Uuid,
    pub name: String,
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
    pub added_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartEstimate {
    pub address_id: Uuid,
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
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

fn cart_problem(err: CartError) -> Problem {
    match err {
        CartError::OverCap { cap, current } => Problem::new(Code::BusinessRule)
            .with_detail(format!(
                "At most {cap} packages of this product can be ordered now; your cart holds {current}."
            ))
            .with_extension("maxQuantity", cap)
            .with_extension("inCart", current),
        CartError::Full(lines) => Problem::new(Code::BusinessRule)
            .with_detail(format!("A cart holds at most {lines} different products.")),
        CartError::NotInCart => Problem::not_found("This product is not in your cart."),
        other => Problem::unavailable(&other),
    }
}

fn check_quantity(state: &AppState, quantity: u32) -> Result<(), Problem> {
    let max = state.config.cart_max_quantity;
    if quantity == 0 || quantity > max {
        return Err(Problem::validation(vec![FieldError::new(
            "quantity",
            format!("must be between 1 and {max}"),
        )]));
    }
    Ok(())
}

/// The most packages of `product` a cart may hold now: the configured most, and what is
/// available. Refuses products that are not for sale.
async fn cap_for(state: &AppState, product: Uuid) -> Result<u32, Problem> {
    let mut conn = state.db().await?;
    let row = db::products::find(&mut conn, product)
        .await?
        .filter(|p| p.orderable() && crate::products::compliance_type(&p.product_type).is_some())
        .ok_or_else(|| {
            Problem::new(Code::ProductUnavailable).with_detail("This product is not for sale.")
        })?;
    let available = u32::try_from(row.available_quantity.max(0)).unwrap_or(u32::MAX);
    if available == 0 {
        return Err(Problem::new(Code::InsufficientStock).with_detail("This product is sold out."));
    }
    Ok(available.min(state.config.cart_max_quantity))
}

pub async fn add(state: &AppState, user: Uuid, input: &CartLineInput) -> Result<(), Problem> {
    check_quantity(state, input.quantity)?;
    let cap = cap_for(state, input.product_id).await?;
    state
        .carts
        .add(user, input.product_id, input.quantity, cap)
        .await
        .map(drop)
        .map_err(cart_problem)
}

pub async fn update(state: &AppState, user: Uuid, input: &CartLineInput) -> Result<(), Problem> {
    check_quantity(state, input.quantity)?;
    let cap = cap_for(state, input.product_id).await?;
    if input.quantity > cap {
        return Err(cart_problem(CartError::OverCap {
            cap,
            current: input.quantity,
        }));
    }
    state
        .carts
        .set(user, input.product_id, input.quantity)
        .await
        .map_err(cart_problem)
}

pub async fn remove(state: &AppState, user: Uuid, product: Uuid) -> Result<(), Problem> {
    state
        .carts
        .remove(user, product)
        .await
        .map_err(cart_problem)
}

/// The cart's answer.
pub async fn view(state: &AppState, user: Uuid) -> Result<CartView, Problem> {
    let entries = state.carts.get(user).await.map_err(cart_problem)?;
    let mut conn = state.db().await?;
    let ids: Vec<Uuid> = entries.iter().map(|e| e.product_id).collect();
    let products = db::products::find_many(&mut conn, &ids).await?;
    let mut items = Vec::with_capacity(entries.len());
    let mut priced = Vec::new();
    for entry in &entries {
        let product = products.iter().find(|p| p.id == entry.product_id);
        let available = product.is_some_and(|p| p.orderable());
        if let Some(p) = product.filter(|_| available) {
            priced.push(Line {
                product: p.clone(),
                quantity: entry.quantity,
            });
        }
        items.push(CartLineView {
            product_id: entry.product_id,
            name: product.map(|p| p.name.clone()).unwrap_or_default(),
            product_type: product.map(|p| p.product_type.clone()).unwrap_or_default(),
            image_url: product
                .map(|p| p.primary_image_url.clone())
                .filter(|u| !u.is_empty()),
            quantity: entry.quantity,
            unit_price: product.map(|p| money(p.price_cents)),
            total_price: product
                .map(|p| money(p.price_cents.saturating_mul(i64::from(entry.quantity)))),
            available,
            available_quantity: product.map_or(0, |p| p.available_quantity),
            added_at: entry.added_at,
        });
    }
    let subtotal = pricing::subtotal_cents(&priced);
    let estimate = match db::addresses::primary(&mut conn, user).await? {
        Some(address) if !priced.is_empty() => {
            let located = address.point().and_then(|p| state.rules.locate(p));
            let quote = located.as_ref().and_then(|l| {
                pricing::quote(
                    l.jurisdiction,
                    &priced,
                    &address.city,
                    l.distance_miles,
                    l.jurisdiction.local_date(Utc::now()),
                )
            });
            Some(CartEstimate {
                address_id: address.id,
                service_area: AreaView::for_point(&state.rules, address.point()),
                tax: quote.as_ref().map(|q| money(q.taxes.total_cents)),
                delivery_fee: quote.as_ref().map(|q| money(q.delivery_fee_cents)),
                total: quote.as_ref().map(|q| money(q.total_cents)),
            })
        }
        _ => None,
    };
    Ok(CartView {
        item_count: entries.iter().map(|e| e.quantity).sum(),
        items,
        subtotal: money(subtotal),
        estimate,
        // Reading the cart re-armed its expiry; an empty cart has no key to expire.
        expires_at: (!entries.is_empty())
            .then(|| {
                chrono::Duration::from_std(state.carts.ttl())
                    .ok()
                    .map(|ttl| Utc::now() + ttl)
            })
            .flatten(),
    })
}
