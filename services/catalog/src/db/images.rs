//! `product_images`.

use crate::schema::product_images;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::ProductId;
use domain::ids::ImageId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = product_images)]
pub struct ImageRow {
    pub id: ImageId,
    pub product_id: ProductId,
    pub object_key: String,
    pub content_type: String,
    pub byte_size: i32,
    pub alt_text: Option<String>,
    pub sort_order: i32,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = product_images)]
pub struct NewImage<'a> {
    pub id: ImageId,
    pub product_id: ProductId,
    pub object_key: &'a str,
    pub content_type: &'a str,
    pub byte_size: i32,
    pub alt_text: Option<&'a str>,
    pub sort_order: i32,
    pub is_primary: bool,
}

/// A product's images, primary first.
pub async fn for_product(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
) -> QueryResult<Vec<ImageRow>> {
    product_images::table
        .filter(product_images::product_id.eq(product_id))
        .order((
            product_images::is_primary.desc(),
            product_images::sort_order,
            product_images::created_at,
        ))
        .select(ImageRow::as_select())
        .load(conn)
        .await
}

/// The primary image of each of `products` that has one.
pub async fn primaries(
    conn: &mut AsyncPgConnection,
    products: &[ProductId],
) -> QueryResult<Vec<ImageRow>> {
    product_images::table
        .filter(product_images::product_id.eq_any(products))
        .filter(product_images::is_primary)
        .select(ImageRow::as_select())
        .load(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
    id: ImageId,
) -> QueryResult<Option<ImageRow>> {
    product_images::table
        .find(id)
        .filter(product_images::product_id.eq(product_id))
        .select(ImageRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, image: NewImage<'_>) -> QueryResult<ImageRow> {
    diesel::insert_into(product_images::table)
        .values(image)
        .returning(ImageRow::as_returning())
        .get_result(conn)
        .await
}

/// Makes `id` the product's only primary image.
pub async fn make_primary(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
    id: ImageId,
) -> QueryResult<()> {
    diesel::update(
        product_images::table
            .filter(product_images::product_id.eq(product_id))
            .filter(product_images::is_primary),
    )
    .set(product_images::is_primary.eq(false))
    .execute(conn)
    .await?;
    diesel::update(product_images::table.find(id))
        .set(product_images::is_primary.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AsyncPgConnection, id: ImageId) -> QueryResult<usize> {
    diesel::delete(product_images::table.find(id))
        .execute(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, product_id: ProductId) -> QueryResult<i64> {
    product_images::table
        .filter(product_images::product_id.eq(product_id))
        .count()
        .get_result(conn)
        .await
}
