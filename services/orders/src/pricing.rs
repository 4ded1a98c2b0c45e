//! What an order costs: lines at the read model's current prices, the jurisdiction's taxes
//! for the delivery city, and the delivery fee for the distance from the area's centre.
//! Used by the cart's estimate, checkout and the tax calculator, so they always agree.

use crate::db::products::ProductRow;
use crate::products::compliance_type;
use chrono::NaiveDate;
use compliance::{Jurisdiction, LimitedLine, ProductType, TaxBreakdown, TaxableLine};

/// A product and how many packages of it.
#[derive(Debug, Clone)]
pub struct Line {
    pub product: ProductRow,
    pub quantity: u32,
}

impl Line {
    pub fn total_cents(&self) -> i64 {
        self.product
            .price_cents
            .saturating_mul(i64::from(self.quantity))
    }

    pub fn product_type(&self) -> ProductType {
        // Unknown types are refused before pricing; accessory is the type without limits or
        // excise, never the cheaper guess for a cannabis product, so it is not used here.
        compliance_type(&self.product.product_type).unwrap_or(ProductType::Flower)
    }

    pub fn limited(&self) -> LimitedLine {
        LimitedLine {
            product_type: self.product_type(),
            quantity: i64::from(self.quantity),
            net_weight_mg: self.product.net_weight_mg,
            thc_mg: self.product.thc_mg,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Quote {
    pub subtotal_cents: i64,
    pub taxes: TaxBreakdown,
    pub delivery_fee_cents: i64,
    pub total_cents: i64,
}

pub fn subtotal_cents(lines: &[Line]) -> i64 {
    lines.iter().map(Line::total_cents).sum()
}

/// The quote for `lines` delivered `distance_miles` from the area's centre in `city`, on the
/// jurisdiction's local `day`; `None` when the distance is beyond every fee band.
pub fn quote(
    jurisdiction: &Jurisdiction,
    lines: &[Line],
    city: &str,
    distance_miles: f64,
    day: NaiveDate,
) -> Option<Quote> {
    let subtotal_cents = subtotal_cents(lines);
    let taxable: Vec<TaxableLine> = lines
        .iter()
        .map(|line| TaxableLine {
            product_type: line.product_type(),
            amount_cents: line.total_cents(),
        })
        .collect();
    let taxes = jurisdiction.taxes(&taxable, city, day);
    let delivery_fee_cents = jurisdiction.delivery_fee_cents(distance_miles, subtotal_cents)?;
    Some(Quote {
        subtotal_cents,
        total_cents: subtotal_cents + taxes.total_cents + delivery_fee_cents,
        taxes,
        delivery_fee_cents,
    })
}
