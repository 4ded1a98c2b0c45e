//! What catalog publishes and consumes (DESIGN §4), in one place.
//!
//! - Consumes, on the queue [`ORDERS_QUEUE`]: `order.submitted` (reserve the order's stock:
//!   [`reservations::reserve`]), `order.cancelled` (give it back: [`reservations::close`]) and
//!   `order.delivered` (take it out of stock and record who may review what:
//!   [`reservations::deliver`]). Each runs in the inbox transaction, so a redelivered event
//!   changes nothing; the product cache is dropped after the commit.
//! - Publishes, through the outbox in the caller's transaction, one function per event:
//!   [`product_upserted`], [`product_deleted`], [`stock_reserved`], [`stock_rejected`], and
//!   `audit.recorded` for every admin action ([`audit`]).

use crate::cache::{self, ProductCache};
use crate::db;
use crate::db::products::ProductRow;
use crate::images;
use crate::reservations::{self, Closing, Delivery, Shortage};
use ::events::audit::Actor;
use ::events::outbox::publish;
use ::events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::Utc;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::{CategoryId, OrderId, ProductId, ReviewId, UserId};
use futures_util::future::BoxFuture;
use platform::db::DbPool;
use uuid::Uuid;

/// The queue catalog consumes, and what it is bound to.
pub const ORDERS_QUEUE: &str = "catalog.orders";
pub const ORDERS_BINDINGS: &[&str] = &["order.submitted", "order.cancelled", "order.delivered"];

fn milligrams(grams_or_mg: Option<&BigDecimal>, factor: i64) -> i64 {
    grams_or_mg
        .map(|value| (value * BigDecimal::from(factor)).round(0))
        .and_then(|value| value.to_i64())
        .unwrap_or(0)
}

/// `product.upserted`: the product as it is now (after any change, stock included).
pub async fn product_upserted(
    conn: &mut AsyncPgConnection,
    row: &ProductRow,
    public_url: &str,
) -> QueryResult<Uuid> {
    use crate::product_rules::PotencyUnit;
    let category = db::categories::find(conn, row.category_id).await?;
    let primary = db::images::primaries(conn, &[row.id]).await?;
    let mg = |value: Option<&BigDecimal>, unit: Option<PotencyUnit>| match unit {
        Some(PotencyUnit::Mg) => milligrams(value, 1),
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
        product_type: row.product_type.to_proto() as i32,
        price_cents: row.price_cents,
        original_price_cents: row.original_price_cents.unwrap_or(0),
        net_weight_mg: milligrams(row.net_weight_grams.as_ref(), 1000),
        thc_mg: row.thc_mg_per_package.as_ref().map_or_else(
            || mg(row.thc_value.as_ref(), row.thc_unit),
            |thc| milligrams(Some(thc), 1),
        ),
        cbd_mg: mg(row.cbd_value.as_ref(), row.cbd_unit),
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

/// `product.deleted`.
pub async fn product_deleted(conn: &mut AsyncPgConnection, row: &ProductRow) -> QueryResult<Uuid> {
    let event = v1::ProductDeleted {
        product_id: row.id.to_string(),
        version: row.version,
        deleted_at: Some(timestamp(row.deleted_at.unwrap_or_else(Utc::now))),
    };
    publish(conn, &event, Some(&row.id.to_string())).await
}

/// `stock.reserved`: every line of the order is held.
pub async fn stock_reserved(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    lines: &[(ProductId, i32)],
) -> QueryResult<Uuid> {
    metrics::counter!("catalog_stock_reservations_total", "outcome" => "reserved").increment(1);
    let event = v1::StockReserved {
        order_id: order_id.to_string(),
        lines: lines
            .iter()
            .map(|(product_id, quantity)| v1::ReservedLine {
                product_id: product_id.to_string(),
                quantity: *quantity,
            })
            .collect(),
        reserved_at: Some(timestamp(Utc::now())),
    };
    publish(conn, &event, Some(&order_id.to_string())).await
}

/// `stock.rejected`: nothing is held, and every short line is named.
pub async fn stock_rejected(
    conn: &mut AsyncPgConnection,
    order_id: OrderId,
    shortages: Vec<Shortage>,
) -> QueryResult<Uuid> {
    metrics::counter!("catalog_stock_reservations_total", "outcome" => "rejected").increment(1);
    let event = v1::StockRejected {
        order_id: order_id.to_string(),
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
    publish(conn, &event, Some(&order_id.to_string())).await
}

/// What an admin action was done to, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Category(CategoryId),
    Product(ProductId),
    Review(ReviewId),
}

impl Subject {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Self::Category(id) => ("category", id.into_inner()),
            Self::Product(id) => ("product", id.into_inner()),
            Self::Review(id) => ("review", id.into_inner()),
        }
    }
}

/// `audit.recorded`: an admin action (auth keeps the log), in the same transaction.
pub async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    subject: Subject,
    details: serde_json::Value,
) -> QueryResult<Uuid> {
    ::events::audit::record(
        conn,
        crate::config::SERVICE,
        actor,
        action,
        subject.parts(),
        &details,
    )
    .await
}

fn uuid(field: &str, value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::Permanent(format!("{field} is not a UUID")))
}

/// An order's lines, summed per product.
fn lines<'a>(
    lines: impl IntoIterator<Item = &'a v1::OrderLine>,
) -> Result<Vec<(ProductId, i32)>, HandlerError> {
    let mut parsed = Vec::new();
    for line in lines {
        if line.quantity < 1 {
            return Err(HandlerError::Permanent(
                "an order line without quantity".into(),
            ));
        }
        parsed.push((
            ProductId::from(uuid("product_id", &line.product_id)?),
            line.quantity,
        ));
    }
    Ok(reservations::merge_lines(parsed))
}

/// The consumer of [`ORDERS_QUEUE`]: the saga's stock step and review eligibility.
pub struct OrderEvents {
    pub pool: DbPool,
    pub cache: ProductCache,
    pub public_url: String,
}

impl OrderEvents {
    async fn submitted(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let submitted: v1::OrderSubmitted = event.decode()?;
        let order_id = OrderId::from(uuid("order_id", &submitted.order_id)?);
        let lines = lines(&submitted.lines)?;
        if lines.is_empty() {
            return Err(HandlerError::Permanent("an order without lines".into()));
        }
        reservations::reserve(conn, order_id, &lines, &self.public_url).await?;
        Ok(())
    }

    async fn cancelled(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let cancelled: v1::OrderCancelled = event.decode()?;
        let order_id = OrderId::from(uuid("order_id", &cancelled.order_id)?);
        reservations::close(conn, order_id, Closing::Release, &self.public_url).await?;
        Ok(())
    }

    async fn delivered(
        &self,
        conn: &mut AsyncPgConnection,
        event: &IncomingEvent,
    ) -> Result<(), HandlerError> {
        let delivered: v1::OrderDelivered = event.decode()?;
        let delivery = Delivery {
            order_id: OrderId::from(uuid("order_id", &delivered.order_id)?),
            customer_id: UserId::from(uuid("customer_id", &delivered.customer_id)?),
            lines: lines(&delivered.lines)?,
            delivered_at: delivered
                .delivered_at
                .and_then(::events::from_timestamp)
                .unwrap_or_else(Utc::now),
        };
        reservations::deliver(conn, &delivery, &self.public_url).await?;
        Ok(())
    }

    /// The products an event touched (`order.cancelled` carries no lines: its products are
    /// found by their reservations).
    async fn products_of(&self, event: &IncomingEvent) -> Vec<ProductId> {
        let ids = |lines: &[v1::OrderLine]| {
            lines
                .iter()
                .filter_map(|line| Uuid::parse_str(&line.product_id).ok())
                .map(ProductId::from)
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
            "order.cancelled" => {
                let Some(order_id) = event
                    .decode::<v1::OrderCancelled>()
                    .ok()
                    .and_then(|cancelled| Uuid::parse_str(&cancelled.order_id).ok())
                else {
                    return Vec::new();
                };
                match self.pool.get().await {
                    Ok(mut conn) => {
                        db::reservations::products_of_order(&mut conn, OrderId::from(order_id))
                            .await
                            .unwrap_or_default()
                    }
                    Err(_) => Vec::new(),
                }
            }
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
                "order.submitted" => self.submitted(conn, event).await,
                "order.cancelled" => self.cancelled(conn, event).await,
                "order.delivered" => self.delivered(conn, event).await,
                other => Err(HandlerError::Permanent(format!(
                    "catalog does not handle {other}"
                ))),
            }
        })
    }

    fn after_commit<'a>(&'a self, event: &'a IncomingEvent) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let products = self.products_of(event).await;
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
