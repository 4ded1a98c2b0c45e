//! `categories`.

use crate::schema::categories;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{CategoryId, ProductId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub sort_order: i32,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryChanges {
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub sort_order: i32,
    pub is_active: bool,
}

/// Which categories a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Those clients see.
    Active,
    /// Inactive ones too (admins).
    All,
}

/// Categories in menu order.
pub async fn list(conn: &mut AsyncPgConnection, which: Which) -> QueryResult<Vec<CategoryRow>> {
    let mut query = categories::table
        .select(CategoryRow::as_select())
        .order((categories::sort_order, categories::name))
        .into_boxed();
    if which == Which::Active {
        query = query.filter(categories::is_active);
    }
    query.load(conn).await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: CategoryId,
) -> QueryResult<Option<CategoryRow>> {
    categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<CategoryRow>> {
    categories::table
        .filter(categories::slug.eq(slug))
        .select(CategoryRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    changes: &CategoryChanges,
) -> QueryResult<CategoryRow> {
    diesel::insert_into(categories::table)
        .values(changes)
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: CategoryId,
    changes: &CategoryChanges,
) -> QueryResult<Option<CategoryRow>> {
    diesel::update(categories::table.find(id))
        .set((changes, categories::updated_at.eq(diesel::dsl::now)))
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The categories (id and slug) of these products: the cache scopes their change touches.
pub async fn of_products(
    conn: &mut AsyncPgConnection,
    product_ids: &[ProductId],
) -> QueryResult<Vec<(CategoryId, String)>> {
    use crate::schema::products;
    categories::table
        .filter(
            categories::id.eq_any(
                products::table
                    .filter(products::id.eq_any(product_ids))
                    .select(products::category_id),
            ),
        )
        .select((categories::id, categories::slug))
        .load(conn)
        .await
}
