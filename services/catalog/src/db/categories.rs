//! `categories`.

use crate::schema::categories;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: Uuid,
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

/// Every category, in menu order; inactive ones only when `include_inactive`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    include_inactive: bool,
) -> QueryResult<Vec<CategoryRow>> {
    let mut query = categories::table
        .select(CategoryRow::as_select())
        .order((categories::sort_order, categories::name))
        .into_boxed();
    if !include_inactive {
        query = query.filter(categories::is_active);
    }
    query.load(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<CategoryRow>> {
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
    id: Uuid,
    changes: &CategoryChanges,
) -> QueryResult<Option<CategoryRow>> {
    diesel::update(categories::table.find(id))
        .set((changes, categories::updated_at.eq(diesel::dsl::now)))
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The categories (id and slug) of these products.
pub async fn of_products(
    conn: &mut AsyncPgConnection,
    product_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
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
