//! `reviews` and `purchases` (who may review what).

use crate::schema::{purchases, reviews};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::dsl::{avg, count_star};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, Pagination, ProductId, ReviewId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub user_id: UserId,
    pub author_name: String,
    pub rating: i16,
    pub comment: Option<String>,
    pub is_hidden: bool,
    pub hidden_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = reviews)]
pub struct NewReview<'a> {
    pub product_id: ProductId,
    pub user_id: UserId,
    pub author_name: &'a str,
    pub rating: i16,
    pub comment: Option<&'a str>,
}

/// Visible reviews of a product, newest first, and how many there are.
pub async fn page(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
    page: &Pagination,
) -> QueryResult<(Vec<ReviewRow>, i64)> {
    let visible = reviews::product_id
        .eq(product_id)
        .and(reviews::is_hidden.eq(false));
    let total = reviews::table
        .filter(visible)
        .count()
        .get_result(conn)
        .await?;
    let rows = reviews::table
        .filter(visible)
        .order((reviews::created_at.desc(), reviews::id.desc()))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(ReviewRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Count of visible reviews per star rating.
pub async fn distribution(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
) -> QueryResult<Vec<(i16, i64)>> {
    reviews::table
        .filter(reviews::product_id.eq(product_id))
        .filter(reviews::is_hidden.eq(false))
        .group_by(reviews::rating)
        .select((reviews::rating, count_star()))
        .load(conn)
        .await
}

/// Average and count of visible reviews.
pub async fn summary(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
) -> QueryResult<(Option<BigDecimal>, i64)> {
    reviews::table
        .filter(reviews::product_id.eq(product_id))
        .filter(reviews::is_hidden.eq(false))
        .select((avg(reviews::rating), count_star()))
        .first(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    product_id: ProductId,
    id: ReviewId,
) -> QueryResult<Option<ReviewRow>> {
    reviews::table
        .find(id)
        .filter(reviews::product_id.eq(product_id))
        .select(ReviewRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The new review, or `None` when this customer already reviewed the product.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    review: NewReview<'_>,
) -> QueryResult<Option<ReviewRow>> {
    diesel::insert_into(reviews::table)
        .values(review)
        .on_conflict((reviews::product_id, reviews::user_id))
        .do_nothing()
        .returning(ReviewRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: ReviewId,
    author_name: &str,
    rating: i16,
    comment: Option<&str>,
) -> QueryResult<ReviewRow> {
    diesel::update(reviews::table.find(id))
        .set((
            reviews::author_name.eq(author_name),
            reviews::rating.eq(rating),
            reviews::comment.eq(comment),
            reviews::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ReviewRow::as_returning())
        .get_result(conn)
        .await
}

/// Hides a review (with the reason) or shows it again.
pub async fn set_hidden(
    conn: &mut AsyncPgConnection,
    id: ReviewId,
    hidden: bool,
    reason: Option<&str>,
) -> QueryResult<ReviewRow> {
    diesel::update(reviews::table.find(id))
        .set((
            reviews::is_hidden.eq(hidden),
            reviews::hidden_reason.eq(reason),
            reviews::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ReviewRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: ReviewId) -> QueryResult<usize> {
    diesel::delete(reviews::table.find(id)).execute(conn).await
}

/// Whether this customer received this product in a delivered order.
pub async fn has_purchased(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    product_id: ProductId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        purchases::table
            .filter(purchases::user_id.eq(user_id))
            .filter(purchases::product_id.eq(product_id)),
    ))
    .get_result(conn)
    .await
}

/// Records that `user_id` received `product_id` in `order_id` (idempotent).
pub async fn record_purchase(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    product_id: ProductId,
    order_id: OrderId,
    delivered_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(purchases::table)
        .values((
            purchases::user_id.eq(user_id),
            purchases::product_id.eq(product_id),
            purchases::order_id.eq(order_id),
            purchases::delivered_at.eq(delivered_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}
