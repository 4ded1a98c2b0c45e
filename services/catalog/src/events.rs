//! What catalog publishes (product changes and the stock answers of the saga, through its
//! outbox in the transaction of the change; admin actions as `audit.recorded`) and consumes
//! (`order.submitted` reserves, `order.cancelled` releases, `order.delivered` commits the
//! reservation and records who may review what).

use crate::cache::{self, ProductCache};
use crate::db;
use crate::db::products::ProductRow;
use crate::images;
use crate::products::ProductType;
use crate::stock::{self, Plan};
use chrono::Utc;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use events::outbox::publish;
use events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
use futures_util::future::BoxFuture;
use platform::db::DbPool;
use uuid::Uuid;

/// The queue catalog consumes, and what it is bound to.
pub const ORDERS_QUEUE: &str = "catalog.orders";
pub const ORDERS_BINDINGS: &[&str] = &["order.submitted", "order.cancelled", "order.delivered"];

fn milligrams(grams_or_mg: Option<&bigdecimal::BigDecimal>, factor: i64) -> i64 {
    use bigdecimal::ToPrimitive;
    grams_or_mg
        .map(|value| (value * bigdecimal::BigDecimal::from(factor)).round(0))
        .and_then(|value| value.to_i64())
        .unwrap_or(0)
}

/// Announces the product as it is now (after any change, stock included).
pub async fn product_upserted(
    conn: &mut AsyncPgConnection,
    row: &ProductRow,
    public_url: &str,
) -> QueryResult<Uuid> {
    let category = db::categories::find(conn, row.category_id).await?;
    let primary = db::images::primaries(conn, &[row.id]).await?;
    let product_type = row
        .product_type
        .parse::<ProductType>()
        .map_or(v1::ProductType::Unspecified, ProductType::to_proto);
    let mg = |value: Option<&bigdecimal::BigDecimal>, unit: Option<&str>| match unit {
        Some("mg") => milligrams(value, 1),
        _ => 0,
    };
    let active = row.is_listed() && category.as_ref().is_some_and(|c| c.is_active);
    let event = v1::ProductUpserted {
        product_id: row.id.to_string(),
        version: row.version,
        name: row.name.clone(),
        category_id: row.category_id.to_string(),
        category_slug: category
            .as_ref()
            .map(|c| c.slug.clone())
            .unwrap_or_default(),
        category_name: category.map(|c| c.name).unwrap_or_default(),
        product_type: product_type as i32,
        price_cents: row.price_cents,
        original_price_cents: row.original_price_cents.unwrap_or(0),
        net_weight_mg: milligrams(row.net_weight_grams.as_ref(), 1000),
        thc_mg: row.thc_mg_per_package.as_ref().map_or_else(
            || mg(row.thc_value.as_ref(), row.thc_unit.as_deref()),
            |thc| milligrams(Some(thc), 1),
        ),
        cbd_mg: mg(row.cbd_value.as_ref(), row.cbd_unit.as_deref()),
        active,
        available_quantity: row.available(),
        primary_image_url: primary
            .first()
            .map(|image| images::public_url(public_url, row.id, image.id))
            .unwrap_or_default(),
        package_label: row.package_label.clone().unwrap_or_default(),
        updated_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&row.id.to_string())).await
}

pub async fn product_deleted(conn: &mut AsyncPgConnection, row: &ProductRow) -> QueryResult<Uuid> {
    let event = v1::ProductDeleted {
        product_id: row.id.to_string(),
        version: row.version,
        deleted_at: Some(timestamp(row.deleted_at.unwrap_or_else(Utc::now))),
    };
    publish(conn, &event, Some(&row.id.to_string())).await
}

pub use events::audit::Actor;

/// Records an admin action in the audit log (auth keeps it) in the same transaction.
pub async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    subject_type: &str,
    subject_id: Uuid,
    details: serde_json::Value,
) -> QueryResult<Uuid> {
    events::audit::record(
        conn,
        crate::config::SERVICE,
        actor,
        action,
        (subject_type, subject_id),
        &details,
    )
    .await
}

fn uuid(field: &str, value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent(format!("{field} is not a UUID")))
}

fn lines<'a>(
    lines: impl IntoIterator<Item = &'a v1::OrderLine>,
) -> Result<Vec<(Uuid, i32)>, HandlerError> {
    let mut parsed = Vec::new();
    for line in lines {
        if line.quantity < 1 {
            return Err(HandlerError::Permanent(
                "an order line without quantity".into(),
            ));
        }
        parsed.push((uuid("product_id", &line.product_id)?, line.quantity));
    }
    Ok(stock::merge_lines(parsed))
}

/// The saga's stock step and review eligibility.
pub struct OrderEvents {
    pub pool: DbPool,
    pub cache: ProductCache,
    pub public_url: String,
}

impl OrderEvents {
    async fn reserve(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let submitted: v1::OrderSubmitted = event.decode()?;
        let order_id = uuid("order_id", &submitted.order_id)?;
        if db::stock::decision(conn, order_id).await?.is_some() {
            // The same order submitted again under another event id: answered already.
            return Ok(());
        }
        let lines = lines(&submitted.lines)?;
        if lines.is_empty() {
            return Err(HandlerError::Permanent("an order without lines".into()));
        }
        let ids: Vec<Uuid> = lines.iter().map(|(id, _)| *id).collect();
        let rows = db::products::lock_many(conn, &ids).await?;
        let correlation = order_id.to_string();
        match stock::plan(&lines, &rows) {
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
                    product_upserted(conn, &row, &self.public_url).await?;
                }
                db::stock::insert_reservations(conn, order_id, &lines).await?;
                db::stock::record_decision(conn, order_id, "reserved").await?;
                let reserved = v1::StockReserved {
                    order_id: correlation.clone(),
                    lines: lines
                        .iter()
                        .map(|(product_id, quantity)| v1::ReservedLine {
                            product_id: product_id.to_string(),
                            quantity: *quantity,
                        })
                        .collect(),
                    reserved_at: Some(timestamp(Utc::now())),
                };
                publish(conn, &reserved, Some(&correlation)).await?;
                metrics::counter!("catalog_stock_reservations_total", "outcome" => "reserved")
                    .increment(1);
            }
            Plan::Reject(shortages) => {
                db::stock::record_decision(conn, order_id, "rejected").await?;
                let rejected = v1::StockRejected {
                    order_id: correlation.clone(),
                    short_lines: shortages
                        .into_iter()
                        .map(|s| v1::StockShortage {
                            product_id: s.product_id.to_string(),
                            product_name: s.product_name,
                            requested_quantity: s.requested,
                            available_quantity: s.available,
                            reason: s.reason as i32,
                        })
                        .collect(),
                    rejected_at: Some(timestamp(Utc::now())),
                };
                publish(conn, &rejected, Some(&correlation)).await?;
                metrics::counter!("catalog_stock_reservations_total", "outcome" => "rejected")
                    .increment(1);
            }
        }
        Ok(())
    }

    /// Gives back (cancelled) or takes out of stock (delivered) an order's open reservations.
    async fn close(
        &self,
        conn: &mut AsyncPgConnection,
        order_id: Uuid,
        delivered: bool,
    ) -> Result<(), HandlerError> {
        let open = db::stock::open_for_order(conn, order_id).await?;
        if open.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = open.iter().map(|r| r.product_id).collect();
        let rows = db::products::lock_many(conn, &ids).await?;
        for reservation in &open {
            let Some(row) = rows.iter().find(|row| row.id == reservation.product_id) else {
                continue;
            };
            let reserved = (row.reserved_quantity - reservation.quantity).max(0);
            let stock = if delivered {
                (row.stock_quantity - reservation.quantity).max(reserved)
            } else {
                row.stock_quantity
            };
            let row = db::products::set_quantities(conn, row.id, stock, reserved).await?;
            if delivered {
                db::stock::record_history(
                    conn,
                    db::stock::NewHistory {
                        product_id: row.id,
                        kind: "sold",
                        change: -reservation.quantity,
                        quantity_after: row.stock_quantity,
                        reason: "order delivered",
                        actor_id: None,
                        order_id: Some(order_id),
                    },
                )
                .await?;
            }
            product_upserted(conn, &row, &self.public_url).await?;
        }
        let status = if delivered { "committed" } else { "released" };
        db::stock::close(conn, order_id, status).await?;
        metrics::counter!("catalog_stock_reservations_total", "outcome" => status).increment(1);
        Ok(())
    }

    async fn delivered(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let delivered: v1::OrderDelivered = event.decode()?;
        let order_id = uuid("order_id", &delivered.order_id)?;
        let customer = uuid("customer_id", &delivered.customer_id)?;
        let at = delivered
            .delivered_at
            .and_then(events::from_timestamp)
            .unwrap_or_else(Utc::now);
        for (product_id, _) in lines(&delivered.lines)? {
            db::reviews::record_purchase(conn, customer, product_id, order_id, at).await?;
        }
        self.close(conn, order_id, true).await
    }

    /// The products an event touched.
    fn products_of(event: &IncomingEvent) -> Vec<Uuid> {
        let ids = |lines: &[v1::OrderLine]| {
            lines
                .iter()
                .filter_map(|line| Uuid::parse_str(&line.product_id).ok())
                .collect()
        };
        match event.name.as_str() {
            "order.submitted" => event
                .decode::<v1::OrderSubmitted>()
                .map(|e| ids(&e.lines))
                .unwrap_or_default(),
            "order.delivered" => event
                .decode::<v1::OrderDelivered>()
                .map(|e| ids(&e.lines))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl Handler for OrderEvents {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            match event.name.as_str() {
                "order.submitted" => self.reserve(conn, event).await,
                "order.cancelled" => {
                    let cancelled: v1::OrderCancelled = event.decode()?;
                    let order_id = uuid("order_id", &cancelled.order_id)?;
                    self.close(conn, order_id, false).await
                }
                "order.delivered" => self.delivered(conn, event).await,
                other => Err(HandlerError::Permanent(format!(
                    "catalog does not handle {other}"
                ))),
            }
        })
    }

    fn after_commit<'a>(&'a self, event: &'a IncomingEvent) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // order.cancelled carries no lines: its products are found by their reservations.
            let mut products = Self::products_of(event);
            if event.name == "order.cancelled"
                && let Ok(cancelled) = event.decode::<v1::OrderCancelled>()
                && let Ok(order_id) = Uuid::parse_str(&cancelled.order_id)
                && let Ok(mut conn) = self.pool.get().await
            {
                products = db::stock::products_of_order(&mut conn, order_id)
                    .await
                    .unwrap_or_default();
            }
            let categories = match self.pool.get().await {
                Ok(mut conn) => db::categories::of_products(&mut conn, &products)
                    .await
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            self.cache.invalidate(&cache::scopes_for(&categories)).await;
        })
    }
}
