//! The stock step of the order saga as a plain decision: given an order's lines and the
//! locked product rows, reserve every line or none, naming every short line.

use crate::db::products::ProductRow;
use events::v1::StockShortageReason;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One line catalog cannot reserve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: Uuid,
    pub product_name: String,
    pub requested: i32,
    pub available: i32,
    pub reason: StockShortageReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Reserve these quantities (one entry per product, lines of one product summed).
    Reserve(Vec<(Uuid, i32)>),
    /// Reserve nothing.
    Reject(Vec<Shortage>),
}

/// Order lines summed per product, in product order (the order rows are locked in).
pub fn merge_lines(lines: impl IntoIterator<Item = (Uuid, i32)>) -> Vec<(Uuid, i32)> {
    let mut merged: BTreeMap<Uuid, i32> = BTreeMap::new();
    for (product, quantity) in lines {
        let entry = merged.entry(product).or_default();
        *entry = entry.saturating_add(quantity);
    }
    merged.into_iter().collect()
}

/// Decides the reservation of `lines` (merged) against `products` (locked rows).
pub fn plan(lines: &[(Uuid, i32)], products: &[ProductRow]) -> Plan {
    let mut shortages = Vec::new();
    for &(product_id, requested) in lines {
        let row = products.iter().find(|row| row.id == product_id);
        let shortage = match row {
            None => Some((String::new(), 0, StockShortageReason::ProductNotFound)),
            Some(row) if row.deleted_at.is_some() => {
                Some((row.name.clone(), 0, StockShortageReason::ProductNotFound))
            }
            Some(row) if !row.is_active => {
                Some((row.name.clone(), 0, StockShortageReason::ProductInactive))
            }
            Some(row) if row.available() < requested => Some((
                row.name.clone(),
                row.available(),
                StockShortageReason::InsufficientStock,
            )),
            Some(_) => None,
        };
        if let Some((product_name, available, reason)) = shortage {
            shortages.push(Shortage {
                product_id,
                product_name,
                requested,
                available,
                reason,
            });
        }
    }
    if shortages.is_empty() {
        Plan::Reserve(lines.to_vec())
    } else {
        Plan::Reject(shortages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn product(stock: i32, reserved: i32, active: bool) -> ProductRow {
        ProductRow {
            id: Uuid::new_v4(),
            category_id: Uuid::new_v4(),
            slug: None,
            name: "Blue Dream".into(),
            description: String::new(),
            price_cents: 4500,
            original_price_cents: None,
            product_type: "flower".into(),
            net_weight_grams: None,
            thc_mg_per_package: None,
            thc_value: None,
            thc_unit: None,
            cbd_value: None,
            cbd_unit: None,
            strain_type: None,
            effects: Vec::new(),
            lab_tested: false,
            lab_results_url: None,
            package_label: None,
            stock_quantity: stock,
            reserved_quantity: reserved,
            is_featured: false,
            is_active: active,
            deleted_at: None,
            rating_average: None,
            rating_count: 0,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn lines_of_one_product_are_summed() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        assert_eq!(merge_lines([(a, 1), (b, 2), (a, 3)]), [(b, 2), (a, 4)]);
    }

    #[test]
    fn everything_available_is_reserved() {
        let p = product(10, 4, true);
        assert_eq!(
            plan(&[(p.id, 6)], std::slice::from_ref(&p)),
            Plan::Reserve(vec![(p.id, 6)])
        );
    }

    #[test]
    fn one_short_line_rejects_the_order_and_every_short_line_is_named() {
        let enough = product(10, 0, true);
        let short = product(3, 1, true);
        let inactive = product(10, 0, false);
        let missing = Uuid::new_v4();
        let lines = [
            (enough.id, 1),
            (short.id, 5),
            (inactive.id, 1),
            (missing, 1),
        ];
        let Plan::Reject(shortages) = plan(&lines, &[enough, short.clone(), inactive]) else {
            panic!("expected a rejection");
        };
        let reasons: Vec<_> = shortages.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [
                StockShortageReason::InsufficientStock,
                StockShortageReason::ProductInactive,
                StockShortageReason::ProductNotFound
            ]
        );
        assert_eq!((shortages[0].requested, shortages[0].available), (5, 2));
        assert_eq!(shortages[0].product_id, short.id);
    }
}
