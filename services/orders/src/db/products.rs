//! The product read model (`product.upserted`, `product.deleted` from catalog).

use crate::products::ProductType;
use crate::schema::products;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{CategoryId, ProductId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: ProductId,
    pub version: i64,
    pub name: String,
    pub category_id: Option<CategoryId>,
    pub category_slug: String,
    pub category_name: String,
    pub product_type: ProductType,
    pub price_cents: i64,
    pub original_price_cents: i64,
    pub net_weight_mg: i64,
    pub thc_mg: i64,
    pub active: bool,
    pub available_quantity: i64,
    pub primary_image_url: String,
    pub package_label: String,
    pub deleted: bool,
    pub updated_at: DateTime<Utc>,
}

impl ProductRow {
    /// For sale now: announced active and not deleted.
    pub const fn orderable(&self) -> bool {
        self.active && !self.deleted
    }

    /// For sale now and of a type the compliance rules know, so it can be priced and limited.
    pub fn can_be_ordered(&self) -> bool {
        self.orderable() && self.product_type.rules().is_some()
    }
}

/// Stores `row` unless a newer (or the same) version is already held, so redelivered or
/// reordered events never roll a product back.
pub async fn upsert(conn: &mut AsyncPgConnection, row: &ProductRow) -> QueryResult<bool> {
    let changed = diesel::query_dsl::methods::FilterDsl::filter(
        diesel::insert_into(products::table)
            .values(row)
            .on_conflict(products::id)
            .do_update()
            .set((
                products::version.eq(excluded(products::version)),
                products::name.eq(excluded(products::name)),
                products::category_id.eq(excluded(products::category_id)),
                products::category_slug.eq(excluded(products::category_slug)),
                products::category_name.eq(excluded(products::category_name)),
                products::product_type.eq(excluded(products::product_type)),
                products::price_cents.eq(excluded(products::price_cents)),
                products::original_price_cents.eq(excluded(products::original_price_cents)),
                products::net_weight_mg.eq(excluded(products::net_weight_mg)),
                products::thc_mg.eq(excluded(products::thc_mg)),
                products::active.eq(excluded(products::active)),
                products::available_quantity.eq(excluded(products::available_quantity)),
                products::primary_image_url.eq(excluded(products::primary_image_url)),
                products::package_label.eq(excluded(products::package_label)),
                products::deleted.eq(excluded(products::deleted)),
                products::updated_at.eq(excluded(products::updated_at)),
            )),
        newer(),
    )
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// Marks a product deleted at `version` (creating a tombstone if it was never seen).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: ProductId,
    version: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    let tombstone = ProductRow {
        id,
        version,
        name: String::new(),
        category_id: None,
        category_slug: String::new(),
        category_name: String::new(),
        product_type: ProductType::Unspecified,
        price_cents: 0,
        original_price_cents: 0,
        net_weight_mg: 0,
        thc_mg: 0,
        active: false,
        available_quantity: 0,
        primary_image_url: String::new(),
        package_label: String::new(),
        deleted: true,
        updated_at: at,
    };
    diesel::query_dsl::methods::FilterDsl::filter(
        diesel::insert_into(products::table)
            .values(&tombstone)
            .on_conflict(products::id)
            .do_update()
            .set((
                products::version.eq(excluded(products::version)),
                products::active.eq(false),
                products::deleted.eq(true),
                products::updated_at.eq(excluded(products::updated_at)),
            )),
        newer(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut AsyncPgConnection, id: ProductId) -> QueryResult<Option<ProductRow>> {
    products::table
        .find(id)
        .select(ProductRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[ProductId],
) -> QueryResult<Vec<ProductRow>> {
    products::table
        .filter(products::id.eq_any(ids))
        .select(ProductRow::as_select())
        .load(conn)
        .await
}

/// Active products with at most `threshold` packages available, fewest first.
pub async fn low_stock(
    conn: &mut AsyncPgConnection,
    threshold: i64,
    limit: i64,
) -> QueryResult<Vec<ProductRow>> {
    products::table
        .filter(products::active.eq(true))
        .filter(products::deleted.eq(false))
        .filter(products::available_quantity.le(threshold))
        .order((products::available_quantity.asc(), products::name.asc()))
        .limit(limit)
        .select(ProductRow::as_select())
        .load(conn)
        .await
}

/// The upsert's `WHERE`: only a newer version replaces the row.
fn newer() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("products.version < excluded.version")
}
