//! The stock step of the order saga: an order's lines are reserved all or none (the
//! decision is the plain [`plan`], unit-tested here), given back when the order is cancelled
//! and taken out of stock when it is delivered. Each runs in the consumer's inbox transaction
//! ([`crate::events`] decodes the events and calls these).

use crate::db;
use crate::db::inventory::{HistoryKind, NewHistory};
use crate::db::products::ProductRow;
use crate::db::reservations::{Decision, ReservationStatus};
use crate::events;
use ::events::v1::StockShortageReason;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::{OrderId, ProductId, UserId};
use std::collections::BTreeMap;

/// One line catalog cannot reserve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: ProductId,
    pub product_name: String,
    pub requested: i32,
    pub available: i32,
    pub reason: StockShortageReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Reserve these quantities (one entry per product, lines of one product summed).
    Reserve(Vec<(ProductId, i32)>),
    /// Reserve nothing.
    Reject(Vec<Shortage>),
}

/// Order lines summed per product, in product order (the order rows are locked in).
pub fn merge_lines(lines: impl IntoIterator<Item = (ProductId, i32)>) -> Vec<(ProductId, i32)> {
    let mut merged: BTreeMap<ProductId, i32> = BTreeMap::new();
    for (product, quantity) in lines {
        let entry = merged.entry(product).or_default();
        *entry = entry.saturating_add(quantity);
    }
    merged.into_iter().collect()
}

/// Decides the reservation of `lines` (merged) against `products` (locked rows).
pub fn plan(lines: &[(ProductId, i32)], products: &[ProductRow]) -> Plan {
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

/// Reserves an order's `lines` (merged) or rejects the order, once per order: the same order
/// submitted again (another event id) is answered already.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    lines: &[(ProductId, i32)],
    public_url: &str,
) -> QueryResult<()> {
    if db::reservations::decision(conn, order_id).await?.is_some() {
        return Ok(());
    }
    let ids: Vec<ProductId> = lines.iter().map(|(id, _)| *id).collect();
    let rows = db::products::lock_many(conn, &ids).await?;
    match plan(lines, &rows) {
        Plan::Reserve(lines) => {
            for (product_id, quantity) in &lines {
                let Some(row) = rows.iter().find(|row| row.id == *product_id) else {
                    continue;
                };
                let row = db::products::set_quantities(
                    conn,
                    row.id,
                    row.stock_quantity,
                    row.reserved_quantity + quantity,
                )
                .await?;
                events::product_upserted(conn, &row, public_url).await?;
            }
            db::reservations::insert(conn, order_id, &lines).await?;
            db::reservations::record_decision(conn, order_id, Decision::Reserved).await?;
            events::stock_reserved(conn, order_id, &lines).await?;
        }
        Plan::Reject(shortages) => {
            db::reservations::record_decision(conn, order_id, Decision::Rejected).await?;
            events::stock_rejected(conn, order_id, shortages).await?;
        }
    }
    Ok(())
}

/// How an order's open reservations end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The order was cancelled: the stock is free again.
    Release,
    /// The order was delivered: the stock left the shelf.
    Commit,
}

impl Closing {
    const fn status(self) -> ReservationStatus {
        match self {
            Self::Release => ReservationStatus::Released,
            Self::Commit => ReservationStatus::Committed,
        }
    }
}

/// Gives back (`Release`) or takes out of stock (`Commit`) an order's open reservations;
/// an order without any (answered already, or rejected) changes nothing.
pub async fn close(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    closing: Closing,
    public_url: &str,
) -> QueryResult<()> {
    let open = db::reservations::open_for_order(conn, order_id).await?;
    if open.is_empty() {
        return Ok(());
    }
    let ids: Vec<ProductId> = open.iter().map(|r| r.product_id).collect();
    let rows = db::products::lock_many(conn, &ids).await?;
    for reservation in &open {
        let Some(row) = rows.iter().find(|row| row.id == reservation.product_id) else {
            continue;
        };
        let reserved = (row.reserved_quantity - reservation.quantity).max(0);
        let stock = match closing {
            Closing::Commit => (row.stock_quantity - reservation.quantity).max(reserved),
            Closing::Release => row.stock_quantity,
        };
        let row = db::products::set_quantities(conn, row.id, stock, reserved).await?;
        if closing == Closing::Commit {
            db::inventory::record(
                conn,
                NewHistory {
                    product_id: row.id,
                    kind: HistoryKind::Sold,
                    change: -reservation.quantity,
                    quantity_after: row.stock_quantity,
                    reason: "order delivered",
                    actor_id: None,
                    order_id: Some(order_id),
                },
            )
            .await?;
        }
        events::product_upserted(conn, &row, public_url).await?;
    }
    let status = closing.status();
    db::reservations::close(conn, order_id, status).await?;
    metrics::counter!("catalog_stock_reservations_total", "outcome" => status.as_str())
        .increment(1);
    Ok(())
}

/// A delivered order, as `order.delivered` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub order_id: OrderId,
    pub customer_id: UserId,
    /// Merged lines.
    pub lines: Vec<(ProductId, i32)>,
    pub delivered_at: DateTime<Utc>,
}

/// Records that the customer received each product (so they may review it), then takes the
/// order's reserved stock out of stock on hand.
pub async fn deliver(
    conn: &mut AsyncPgConnection,
    delivery: &Delivery,
    public_url: &str,
) -> QueryResult<()> {
    for (product_id, _) in &delivery.lines {
        db::reviews::record_purchase(
            conn,
            delivery.customer_id,
            *product_id,
            delivery.order_id,
            delivery.delivered_at,
        )
        .await?;
    }
    close(conn, delivery.order_id, Closing::Commit, public_url).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn product(stock: i32, reserved: i32, active: bool) -> ProductRow {
        ProductRow {
            id: ProductId::new(),
            category_id: domain::CategoryId::new(),
            slug: None,
            name: "Blue Dream".into(),
            description: String::new(),
            price_cents: 4500,
            original_price_cents: None,
            product_type: crate::product_rules::ProductType::Flower,
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
        let (a, b) = (
            ProductId::from(uuid::Uuid::from_u128(2)),
            ProductId::from(uuid::Uuid::from_u128(1)),
        );
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
        let missing = ProductId::new();
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
