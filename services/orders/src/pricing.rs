//! What an order costs: lines at the read model's current prices, the jurisdiction's taxes
//! for the delivery city, and the delivery fee for the distance from the area's centre.
//! Used by the cart's estimate, checkout and the tax calculator, so they always agree.

use crate::db::products::ProductRow;
use crate::products;
use chrono::NaiveDate;
use compliance::{
    AppliesTo, Jurisdiction, LimitedLine, ProductType, Rules, TaxBreakdown, TaxableLine,
};
use geo::ZipCentroids;

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
        product_type(self.product.product_type)
    }

    pub fn limited(&self) -> LimitedLine {
        limited_line(
            self.product.product_type,
            i64::from(self.quantity),
            self.product.net_weight_mg,
            self.product.thc_mg,
        )
    }
}

/// The rules' type for a stored type. Unknown types are refused before pricing; flower
/// (limited, taxed as cannabis) is the safe reading, never accessory.
pub fn product_type(kind: products::ProductType) -> ProductType {
    kind.rules().unwrap_or(ProductType::Flower)
}

/// What a line counts against the daily limits.
pub fn limited_line(
    product_type: products::ProductType,
    quantity: i64,
    net_weight_mg: i64,
    thc_mg: i64,
) -> LimitedLine {
    LimitedLine {
        product_type: self::product_type(product_type),
        quantity,
        net_weight_mg,
        thc_mg,
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

/// The jurisdiction for a place: the one whose area holds the ZIP's centre, else the
/// state's own rules.
pub fn jurisdiction_for<'a>(
    rules: &'a Rules,
    zip: Option<&str>,
    state: Option<&str>,
) -> Option<&'a Jurisdiction> {
    zip.and_then(|zip| ZipCentroids::get().lookup(zip))
        .and_then(|point| rules.locate(point))
        .map(|located| located.jurisdiction)
        .or_else(|| state.and_then(|state| rules.get(state)))
}

/// The guide's calculator: taxes on a subtotal of cannabis goods, grouped as state (sales),
/// cannabis (excise) and local.
pub struct TaxGroups {
    pub state_cents: i64,
    pub cannabis_cents: i64,
    pub local_cents: i64,
    pub breakdown: TaxBreakdown,
}

pub fn tax_groups(
    jurisdiction: &Jurisdiction,
    subtotal_cents: i64,
    city: &str,
    day: NaiveDate,
) -> TaxGroups {
    let lines = [TaxableLine {
        product_type: ProductType::Flower,
        amount_cents: subtotal_cents,
    }];
    let breakdown = jurisdiction.taxes(&lines, city, day);
    let local = jurisdiction.local_taxes_for(city);
    let mut groups = TaxGroups {
        state_cents: 0,
        cannabis_cents: 0,
        local_cents: 0,
        breakdown,
    };
    for c in &groups.breakdown.components {
        let excise = || {
            jurisdiction
                .taxes
                .iter()
                .any(|t| t.id == c.id && t.applies_to == AppliesTo::Cannabis)
        };
        if local.iter().any(|t| t.id == c.id) {
            groups.local_cents += c.amount_cents;
        } else if excise() {
            groups.cannabis_cents += c.amount_cents;
        } else {
            groups.state_cents += c.amount_cents;
        }
    }
    groups
}
