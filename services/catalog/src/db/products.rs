//! `products`: the list query with its filters and sorts, admin writes, stock and ratings.

use crate::product_filter::{CategoryRef, ListFilter, Sort};
use crate::product_rules::{PotencyUnit, ProductType, StrainType};
use crate::schema::{categories, products};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Float, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{CategoryId, ProductId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: ProductId,
    pub category_id: CategoryId,
    pub slug: Option<String>,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub original_price_cents: Option<i64>,
    pub product_type: ProductType,
    pub net_weight_grams: Option<BigDecimal>,
    pub thc_mg_per_package: Option<BigDecimal>,
    pub thc_value: Option<BigDecimal>,
    pub thc_unit: Option<PotencyUnit>,
    pub cbd_value: Option<BigDecimal>,
    pub cbd_unit: Option<PotencyUnit>,
    pub strain_type: Option<StrainType>,
    pub effects: Vec<String>,
    pub lab_tested: bool,
    pub lab_results_url: Option<String>,
    pub package_label: Option<String>,
    pub stock_quantity: i32,
    pub reserved_quantity: i32,
    pub is_featured: bool,
    pub is_active: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub rating_average: Option<BigDecimal>,
    pub rating_count: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProductRow {
    /// Packages that can still be ordered.
    pub fn available(&self) -> i32 {
        (self.stock_quantity - self.reserved_quantity).max(0)
    }

    /// Whether clients may see it.
    pub fn is_listed(&self) -> bool {
        self.is_active && self.deleted_at.is_none()
    }
}

/// Everything an admin sets on a product (create and full update).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub struct ProductChanges {
    pub category_id: CategoryId,
    pub slug: Option<String>,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub original_price_cents: Option<i64>,
    pub product_type: ProductType,
    pub net_weight_grams: Option<BigDecimal>,
    pub thc_mg_per_package: Option<BigDecimal>,
    pub thc_value: Option<BigDecimal>,
    pub thc_unit: Option<PotencyUnit>,
    pub cbd_value: Option<BigDecimal>,
    pub cbd_unit: Option<PotencyUnit>,
    pub strain_type: Option<StrainType>,
    pub effects: Vec<String>,
    pub lab_tested: bool,
    pub lab_results_url: Option<String>,
    pub package_label: Option<String>,
    pub is_featured: bool,
    pub is_active: bool,
}

type Boxed<'a> = products::BoxedQuery<'a, Pg>;

/// Products clients may see that match `filter` (without sort or page).
fn filtered(filter: &ListFilter) -> Boxed<'_> {
    let mut query = products::table
        .into_boxed()
        .filter(products::is_active)
        .filter(products::deleted_at.is_null());
    // A category is compared with `=` to a scalar subquery so the planner walks
    // `products_category_idx` in order and stops after one page.
    let active_categories = categories::table.filter(categories::is_active);
    match &filter.category {
        Some(CategoryRef::Id(id)) => {
            query = query.filter(
                products::category_id.nullable().eq(active_categories
                    .filter(categories::id.eq(*id))
                    .select(categories::id)
                    .single_value()),
            );
        }
        Some(CategoryRef::Slug(slug)) => {
            query = query.filter(
                products::category_id.nullable().eq(active_categories
                    .filter(categories::slug.eq(slug.clone()))
                    .select(categories::id)
                    .single_value()),
            );
        }
        None => {
            query = query
                .filter(products::category_id.eq_any(active_categories.select(categories::id)));
        }
    }
    if let Some(text) = &filter.search {
        // Full text over the weighted document, or a name close enough in trigrams
        // (pg_trgm's `%`, similarity ≥ 0.3) for misspellings; both use their GIN index.
        query = query.filter(
            sql::<Bool>("(search_document @@ websearch_to_tsquery('english', ")
                .bind::<Text, _>(text.clone())
                .sql(") OR name % ")
                .bind::<Text, _>(text.clone())
                .sql(")"),
        );
    }
    if let Some(featured) = filter.featured {
        query = query.filter(products::is_featured.eq(featured));
    }
    if let Some(strain) = filter.strain_type {
        query = query.filter(products::strain_type.eq(strain));
    }
    if let Some(kind) = filter.product_type {
        query = query.filter(products::product_type.eq(kind));
    }
    if let Some(min) = filter.min_price {
        query = query.filter(products::price_cents.ge(min.to_cents()));
    }
    if let Some(max) = filter.max_price {
        query = query.filter(products::price_cents.le(max.to_cents()));
    }
    if let Some(min_thc) = &filter.min_thc {
        query = query
            .filter(products::thc_unit.eq(PotencyUnit::Percent))
            .filter(products::thc_value.ge(min_thc.clone()));
    }
    match filter.in_stock {
        Some(true) => {
            query = query.filter(products::stock_quantity.gt(products::reserved_quantity))
        }
        Some(false) => {
            query = query.filter(products::stock_quantity.le(products::reserved_quantity))
        }
        None => {}
    }
    query
}

/// One page of products matching `filter`, and how many match in all.
///
/// A search's matches are few: the total rides on the page as a window count (one pass).
/// A category holds thousands: the page walks the index and stops early, and the total is a
/// separate count (a window count would fetch and sort every row).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ListFilter,
) -> QueryResult<(Vec<ProductRow>, i64)> {
    if filter.search.is_some() {
        let rows: Vec<(ProductRow, i64)> = sorted(filter)
            .select((ProductRow::as_select(), sql::<BigInt>("count(*) OVER ()")))
            .load(conn)
            .await?;
        let total = match <[_]>::first(&rows) {
            Some((_, total)) => *total,
            // Past the last page the window has no row to ride on.
            None if filter.page.offset() > 0 => filtered(filter).count().get_result(conn).await?,
            None => 0,
        };
        return Ok((rows.into_iter().map(|(row, _)| row).collect(), total));
    }
    let total: i64 = filtered(filter).count().get_result(conn).await?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let rows = sorted(filter)
        .select(ProductRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// The filtered products in the requested order, one page of them.
fn sorted(filter: &ListFilter) -> Boxed<'_> {
    let query = filtered(filter);
    let query = match (filter.sort, &filter.search) {
        // The index order (category, newest, id): a page needs no sort.
        (Sort::Relevance | Sort::Newest, None) | (Sort::Newest, Some(_)) => {
            return query
                .order((products::created_at.desc(), products::id.desc()))
                .limit(filter.page.limit_i64())
                .offset(filter.page.offset_i64());
        }
        (Sort::Relevance, Some(text)) => query.order(
            sql::<Float>("ts_rank_cd(search_document, websearch_to_tsquery('english', ")
                .bind::<Text, _>(text.clone())
                .sql(")) + similarity(name, ")
                .bind::<Text, _>(text.clone())
                .sql(")")
                .desc(),
        ),
        (Sort::PriceAsc, _) => query.order(products::price_cents.asc()),
        (Sort::PriceDesc, _) => query.order(products::price_cents.desc()),
        (Sort::Rating, _) => query.order((
            products::rating_average.desc().nulls_last(),
            products::rating_count.desc(),
        )),
        (Sort::ThcDesc, _) => query.order(products::thc_value.desc().nulls_last()),
    };
    // Ties are broken by name, then id, so pages never overlap.
    query
        .then_order_by(products::name.asc())
        .then_order_by(products::id.asc())
        .limit(filter.page.limit_i64())
        .offset(filter.page.offset_i64())
}

/// A product that has not been deleted (active or not).
pub async fn find(conn: &mut AsyncPgConnection, id: ProductId) -> QueryResult<Option<ProductRow>> {
    products::table
        .find(id)
        .filter(products::deleted_at.is_null())
        .select(ProductRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The row, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: ProductId) -> QueryResult<Option<ProductRow>> {
    products::table
        .find(id)
        .filter(products::deleted_at.is_null())
        .for_update()
        .select(ProductRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// These products (deleted ones too), locked in id order so that two transactions locking
/// overlapping sets cannot deadlock.
pub async fn lock_many(
    conn: &mut AsyncPgConnection,
    ids: &[ProductId],
) -> QueryResult<Vec<ProductRow>> {
    products::table
        .filter(products::id.eq_any(ids))
        .order(products::id)
        .for_update()
        .select(ProductRow::as_select())
        .load(conn)
        .await
}

pub async fn find_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<ProductRow>> {
    products::table
        .filter(products::slug.eq(slug))
        .select(ProductRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Which of `slugs` belong to products already (the demo seed adds only the others).
pub async fn existing_slugs(
    conn: &mut AsyncPgConnection,
    slugs: &[&str],
) -> QueryResult<Vec<String>> {
    products::table
        .filter(products::slug.eq_any(slugs))
        .select(products::slug.assume_not_null())
        .load(conn)
        .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    changes: &ProductChanges,
    stock: i32,
) -> QueryResult<ProductRow> {
    diesel::insert_into(products::table)
        .values((changes, products::stock_quantity.eq(stock)))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: ProductId,
    changes: &ProductChanges,
) -> QueryResult<ProductRow> {
    diesel::update(products::table.find(id))
        .set((
            changes,
            products::version.eq(products::version + 1),
            products::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_active(
    conn: &mut AsyncPgConnection,
    id: ProductId,
    active: bool,
) -> QueryResult<ProductRow> {
    diesel::update(products::table.find(id))
        .set((
            products::is_active.eq(active),
            products::version.eq(products::version + 1),
            products::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn mark_deleted(conn: &mut AsyncPgConnection, id: ProductId) -> QueryResult<ProductRow> {
    diesel::update(products::table.find(id))
        .set((
            products::deleted_at.eq(diesel::dsl::now),
            products::is_active.eq(false),
            products::version.eq(products::version + 1),
            products::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

/// Sets stock on hand and reservations in one step (callers checked the rules).
pub async fn set_quantities(
    conn: &mut AsyncPgConnection,
    id: ProductId,
    stock: i32,
    reserved: i32,
) -> QueryResult<ProductRow> {
    diesel::update(products::table.find(id))
        .set((
            products::stock_quantity.eq(stock),
            products::reserved_quantity.eq(reserved),
            products::version.eq(products::version + 1),
            products::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

/// Bumps the version of a product whose announced state changed elsewhere (its images).
pub async fn touch(conn: &mut AsyncPgConnection, id: ProductId) -> QueryResult<ProductRow> {
    diesel::update(products::table.find(id))
        .set((
            products::version.eq(products::version + 1),
            products::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .await
}

/// Stores a product's rating summary (visible reviews only).
pub async fn set_rating(
    conn: &mut AsyncPgConnection,
    id: ProductId,
    average: Option<BigDecimal>,
    count: i32,
) -> QueryResult<()> {
    diesel::update(products::table.find(id))
        .set((
            products::rating_average.eq(average),
            products::rating_count.eq(count),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Listed products with at most `threshold` packages available, fewest first.
pub async fn low_stock(
    conn: &mut AsyncPgConnection,
    threshold: i32,
) -> QueryResult<Vec<ProductRow>> {
    products::table
        .filter(products::deleted_at.is_null())
        .filter(products::is_active)
        .filter((products::stock_quantity - products::reserved_quantity).le(threshold))
        .order((
            (products::stock_quantity - products::reserved_quantity).asc(),
            products::name.asc(),
        ))
        .select(ProductRow::as_select())
        .load(conn)
        .await
}

/// Bumps the version of these products (their category changed, so consumers need the
/// new names); returns the new rows.
pub async fn touch_category(
    conn: &mut AsyncPgConnection,
    category_id: CategoryId,
) -> QueryResult<Vec<ProductRow>> {
    diesel::update(
        products::table
            .filter(products::category_id.eq(category_id))
            .filter(products::deleted_at.is_null()),
    )
    .set((
        products::version.eq(products::version + 1),
        products::updated_at.eq(diesel::dsl::now),
    ))
    .returning(ProductRow::as_returning())
    .get_results(conn)
    .await
}
