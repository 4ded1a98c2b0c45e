//! The parts of checkout's rules that are orders' own: the address on the map, every cart
//! line for sale and available, and points that leave nothing or enough to charge.

use super::Checkout;
use crate::db;
use crate::db::addresses::AddressRow;
use crate::db::carts::CartEntry;
use crate::db::orders::ItemRow;
use crate::db::products::ProductRow;
use crate::pricing::{self, Line, Quote};
use compliance::{LimitedLine, Located};
use diesel_async::AsyncPgConnection;
use domain::{Code, FieldError, Money, Problem, ProductId};
use serde_json::json;

/// The provider's smallest card charge: the rest after points is 0 or at least this.
pub const MINIMUM_CHARGE_CENTS: i64 = 50;

/// The service area (and jurisdiction) of a geocoded address inside one.
pub fn locate<'a>(
    rules: &'a compliance::Rules,
    address: &AddressRow,
) -> Result<Located<'a>, Problem> {
    let point = address.point().ok_or_else(|| {
        Problem::new(Code::AddressNotGeocoded)
            .with_detail("We could not place this address on the map; check it and save it again.")
    })?;
    rules
        .locate(point)
        .ok_or_else(|| crate::compliance_problems::outside_area(rules, point))
}

/// The cart's lines from the product read model: every product must be for sale and
/// available in the quantity asked for.
pub async fn lines(conn: &mut AsyncPgConnection, cart: &[CartEntry]) -> Result<Vec<Line>, Problem> {
    let ids: Vec<ProductId> = cart.iter().map(|e| e.product_id).collect();
    let products = db::products::find_many(conn, &ids).await?;
    let mut lines = Vec::with_capacity(cart.len());
    let mut unavailable = Vec::new();
    let mut short = Vec::new();
    for entry in cart {
        match products.iter().find(|p| p.id == entry.product_id) {
            Some(p) if ProductRow::can_be_ordered(p) => {
                if p.available_quantity < i64::from(entry.quantity) {
                    short.push(json!({
                        "productId": p.id, "name": p.name,
                        "requested": entry.quantity, "available": p.available_quantity,
                    }));
                }
                lines.push(Line {
                    product: p.clone(),
                    quantity: entry.quantity,
                });
            }
            other => unavailable.push(json!({
                "productId": entry.product_id,
                "name": other.map(|p| p.name.clone()),
            })),
        }
    }
    if !unavailable.is_empty() {
        return Err(Problem::new(Code::ProductUnavailable)
            .with_detail(
                "Some products in your cart are no longer for sale; remove them to check out.",
            )
            .with_extension("products", unavailable));
    }
    if !short.is_empty() {
        return Err(Problem::new(Code::InsufficientStock)
            .with_detail("Some products in your cart are not available in the quantity asked for.")
            .with_extension("products", short));
    }
    Ok(lines)
}

/// What an earlier order's line counts against today's limits.
pub fn limited_item(item: &ItemRow) -> LimitedLine {
    pricing::limited_line(
        item.product_type,
        i64::from(item.quantity),
        item.net_weight_mg,
        item.thc_mg,
    )
}

/// The points to redeem: they may pay all of the order or leave at least the provider's
/// minimum charge.
pub fn points(input: &Checkout, quote: &Quote) -> Result<i64, Problem> {
    let points = i64::from(input.points_to_redeem);
    let rest = quote.total_cents - points;
    let money = |cents: i64| Money::from_cents(cents).unwrap_or(Money::ZERO).to_string();
    if rest < 0 {
        return Err(Problem::validation(vec![FieldError::new(
            "pointsToRedeem",
            format!(
                "At most {} points can be redeemed on this order (its total).",
                quote.total_cents
            ),
        )]));
    }
    if rest > 0 && rest < MINIMUM_CHARGE_CENTS {
        return Err(Problem::new(Code::BusinessRule).with_detail(format!(
            "Redeem all {} points or leave at least ${} to charge to the card.",
            quote.total_cents,
            money(MINIMUM_CHARGE_CENTS)
        )));
    }
    if rest > 0 && input.payment_method.is_none() {
        return Err(Problem::validation(vec![FieldError::new(
            "paymentMethodId",
            "A payment method is required unless points pay the whole order.",
        )]));
    }
    Ok(points)
}
