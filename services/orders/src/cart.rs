//! The cart's rules: only products for sale, 1 to the configured most packages per line,
//! never more than is available; and its contents priced from the read model, with tax,
//! delivery fee and total estimated for the customer's primary address. The lines live in
//! Redis (`db::carts`).

use crate::db;
use crate::db::addresses::AddressRow;
use crate::db::carts::{CartEntry, CartError};
use crate::db::products::ProductRow;
use crate::pricing::{self, Line, Quote};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use domain::{Code, FieldError, Problem, ProductId, UserId};

/// A product and a number of packages, as the customer asked.
#[derive(Debug, Clone, Copy)]
pub struct Packages {
    pub product: ProductId,
    pub quantity: u32,
}

/// One line of the cart with its product as the read model has it now.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub entry: CartEntry,
    /// `None` when catalog never announced the product.
    pub product: Option<ProductRow>,
    /// False when the product is no longer for sale: remove it to check out.
    pub available: bool,
}

/// What the order would cost delivered to the customer's primary address.
#[derive(Debug, Clone)]
pub struct Estimate {
    pub address: AddressRow,
    /// `None` when the address is not served (or not on the map).
    pub quote: Option<Quote>,
}

/// The cart as the customer sees it.
#[derive(Debug, Clone)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// The lines still for sale, at current prices.
    pub subtotal_cents: i64,
    /// For the primary address, when there is one and something to price.
    pub estimate: Option<Estimate>,
    /// When the cart disappears if left untouched.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Cart {
    /// Packages in the cart, all lines together.
    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|l| l.entry.quantity).sum()
    }
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
async fn cap_for(state: &AppState, product: ProductId) -> Result<u32, Problem> {
    let mut conn = state.db().await?;
    let row = db::products::find(&mut conn, product)
        .await?
        .filter(ProductRow::can_be_ordered)
        .ok_or_else(|| {
            Problem::new(Code::ProductUnavailable).with_detail("This product is not for sale.")
        })?;
    let available = u32::try_from(row.available_quantity.max(0)).unwrap_or(u32::MAX);
    if available == 0 {
        return Err(Problem::new(Code::InsufficientStock).with_detail("This product is sold out."));
    }
    Ok(available.min(state.config.cart_max_quantity))
}

/// Adds packages of a product to any already in the cart.
pub async fn add(state: &AppState, user: UserId, add: Packages) -> Result<Cart, Problem> {
    check_quantity(state, add.quantity)?;
    let cap = cap_for(state, add.product).await?;
    state
        .carts
        .add(user, add.product, add.quantity, cap)
        .await
        .map_err(cart_problem)?;
    contents(state, user).await
}

/// Sets the quantity of a product already in the cart.
pub async fn update(state: &AppState, user: UserId, set: Packages) -> Result<Cart, Problem> {
    check_quantity(state, set.quantity)?;
    let cap = cap_for(state, set.product).await?;
    if set.quantity > cap {
        return Err(cart_problem(CartError::OverCap {
            cap,
            current: set.quantity,
        }));
    }
    state
        .carts
        .set(user, set.product, set.quantity)
        .await
        .map_err(cart_problem)?;
    contents(state, user).await
}

/// Takes a product out of the cart (404 when it is not there).
pub async fn remove(state: &AppState, user: UserId, product: ProductId) -> Result<Cart, Problem> {
    state
        .carts
        .remove(user, product)
        .await
        .map_err(cart_problem)?;
    contents(state, user).await
}

/// The cart priced from the read model, with the estimate for the primary address.
pub async fn contents(state: &AppState, user: UserId) -> Result<Cart, Problem> {
    let entries = state.carts.get(user).await.map_err(cart_problem)?;
    let mut conn = state.db().await?;
    let ids: Vec<ProductId> = entries.iter().map(|e| e.product_id).collect();
    let products = db::products::find_many(&mut conn, &ids).await?;
    let mut lines = Vec::with_capacity(entries.len());
    let mut priced = Vec::new();
    for entry in entries {
        let product = products.iter().find(|p| p.id == entry.product_id).cloned();
        let available = product.as_ref().is_some_and(ProductRow::orderable);
        if let Some(p) = product.as_ref().filter(|_| available) {
            priced.push(Line {
                product: p.clone(),
                quantity: entry.quantity,
            });
        }
        lines.push(CartLine {
            entry,
            product,
            available,
        });
    }
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
            Some(Estimate { address, quote })
        }
        _ => None,
    };
    Ok(Cart {
        subtotal_cents: pricing::subtotal_cents(&priced),
        estimate,
        // Reading the cart re-armed its expiry; an empty cart has no key to expire.
        expires_at: (!lines.is_empty())
            .then(|| {
                chrono::Duration::from_std(state.carts.ttl())
                    .ok()
                    .map(|ttl| Utc::now() + ttl)
            })
            .flatten(),
        lines,
    })
}
