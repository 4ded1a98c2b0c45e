//! Reviews: anyone reads a listed product's visible reviews and its rating; a customer who
//! received the product writes one (and edits or deletes it); an admin hides one. Every change
//! recomputes the product's rating summary (visible reviews only) in its transaction and drops
//! the cached pages that show it.

use crate::cache;
use crate::db;
use crate::db::products::ProductRow;
use crate::db::reviews::{NewReview, ReviewRow};
use crate::events::{self, Subject};
use crate::products::{self, product_missing};
use crate::state::AppState;
use ::events::audit::Actor;
use bigdecimal::BigDecimal;
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Pagination, Problem, ProductId, ReviewId, UserId};
use serde_json::json;

fn review_missing() -> Problem {
    Problem::not_found("No such review.")
}

/// A product's visible reviews in numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// Mean rating; `None` without reviews.
    pub average: Option<BigDecimal>,
    pub count: i64,
    /// How many gave each rating (stars, count), ratings without reviews left out.
    pub by_stars: Vec<(i16, i64)>,
}

/// The rating of a product's visible reviews.
pub async fn rating(conn: &mut AsyncPgConnection, product_id: ProductId) -> QueryResult<Rating> {
    let (average, count) = db::reviews::summary(conn, product_id).await?;
    let by_stars = db::reviews::distribution(conn, product_id).await?;
    Ok(Rating {
        average,
        count,
        by_stars,
    })
}

/// A page of a product's visible reviews, newest first, with its rating.
#[derive(Debug, Clone)]
pub struct ReviewPage {
    pub reviews: Vec<ReviewRow>,
    pub total: u64,
    pub rating: Rating,
}

/// The reviews of a product clients may see (404 otherwise).
pub async fn page(
    state: &AppState,
    product_id: ProductId,
    page: &Pagination,
) -> Result<ReviewPage, Problem> {
    let mut conn = state.db().await?;
    let product = products::listed(&mut conn, product_id).await?;
    let (reviews, total) = db::reviews::page(&mut conn, product.id, page).await?;
    let rating = rating(&mut conn, product.id).await?;
    Ok(ReviewPage {
        reviews,
        total: u64::try_from(total).unwrap_or_default(),
        rating,
    })
}

/// Recomputes a product's rating summary from its visible reviews.
async fn refresh_rating(conn: &mut AsyncPgConnection, product_id: ProductId) -> QueryResult<()> {
    let (average, count) = db::reviews::summary(conn, product_id).await?;
    let average = average.map(|a: BigDecimal| a.round(2));
    db::products::set_rating(
        conn,
        product_id,
        average,
        i32::try_from(count).unwrap_or(i32::MAX),
    )
    .await
}

/// What a customer writes in a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub rating: i16,
    pub comment: Option<String>,
    pub author_name: String,
}

/// Writes `author`'s review of a product they received: 403 if they did not, 409 if they
/// reviewed it already.
pub async fn create(
    state: &AppState,
    author: UserId,
    product_id: ProductId,
    input: &ReviewInput,
) -> Result<ReviewRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            let product = db::products::lock(conn, product_id).await?;
            if !product.as_ref().is_some_and(ProductRow::is_listed) {
                return Err(product_missing());
            }
            if !db::reviews::has_purchased(conn, author, product_id).await? {
                return Err(Problem::new(Code::Forbidden)
                    .with_detail("Only customers who received this product can review it."));
            }
            let row = db::reviews::insert(
                conn,
                NewReview {
                    product_id,
                    user_id: author,
                    author_name: &input.author_name,
                    rating: input.rating,
                    comment: input.comment.as_deref(),
                },
            )
            .await?
            .ok_or_else(|| {
                Problem::conflict(
                    "You have already reviewed this product; edit that review instead.",
                )
            })?;
            refresh_rating(conn, product_id).await?;
            let touched = db::categories::of_products(conn, &[product_id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// What the author does to their review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewChange {
    /// Replace it with this.
    Edit(ReviewInput),
    Delete,
}

/// Edits or deletes `author`'s own review; answers it after an edit (`None` after a
/// delete). Someone else's review answers 404, as a missing one does.
pub async fn change(
    state: &AppState,
    author: UserId,
    product_id: ProductId,
    review_id: ReviewId,
    change: &ReviewChange,
) -> Result<Option<ReviewRow>, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            // A 403 for someone else's review would confirm that the id exists.
            db::reviews::find(conn, product_id, review_id)
                .await?
                .filter(|review| review.user_id == author)
                .ok_or_else(review_missing)?;
            let row = match change {
                ReviewChange::Edit(input) => Some(
                    db::reviews::update(
                        conn,
                        review_id,
                        &input.author_name,
                        input.rating,
                        input.comment.as_deref(),
                    )
                    .await?,
                ),
                ReviewChange::Delete => {
                    db::reviews::delete(conn, review_id).await?;
                    None
                }
            };
            refresh_rating(conn, product_id).await?;
            let touched = db::categories::of_products(conn, &[product_id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// Whether clients see a review (and its rating counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Shown,
    /// Hidden by an admin: out of the list and the rating.
    Hidden,
}

/// Hides a review (or shows it again), with the admin's reason; audited.
pub async fn moderate(
    state: &AppState,
    actor: &Actor,
    product_id: ProductId,
    review_id: ReviewId,
    visibility: Visibility,
    reason: Option<&str>,
) -> Result<ReviewRow, Problem> {
    let hidden = visibility == Visibility::Hidden;
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            db::reviews::find(conn, product_id, review_id)
                .await?
                .ok_or_else(review_missing)?;
            let row = db::reviews::set_hidden(conn, review_id, hidden, reason).await?;
            refresh_rating(conn, product_id).await?;
            let action = match visibility {
                Visibility::Hidden => "review.hidden",
                Visibility::Shown => "review.shown",
            };
            events::audit(
                conn,
                actor,
                action,
                Subject::Review(review_id),
                json!({ "productId": product_id, "reason": reason }),
            )
            .await?;
            let touched = db::categories::of_products(conn, &[product_id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}
