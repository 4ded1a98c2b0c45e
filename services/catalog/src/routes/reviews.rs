//! Reviews: anyone reads them; a customer who received a product writes one (and edits or
//! deletes it); admins hide one.

use crate::db::reviews::ReviewRow;
use crate::reviews::{self, Rating, ReviewChange, ReviewInput, Visibility};
use crate::routes::BAD_TOKEN;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated, Customer, MaybeUser};
use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, FreeText, Validation};
use domain::{Listed, Page, Pagination, PaginationQuery, Problem, ProductId, ReviewId, UserId};
use platform::api::{Created, NoContent};
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The name shown when a reviewer gives none.
const ANONYMOUS: &str = "Verified buyer";

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub id: ReviewId,
    pub product_id: ProductId,
    pub author_name: String,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i16,
    pub comment: Option<String>,
    /// Whether the caller wrote it (they may edit or delete it).
    pub is_mine: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Listed for ReviewView {
    const KEY: &'static str = "reviews";
}

impl ReviewView {
    pub fn new(row: &ReviewRow, caller: Option<UserId>) -> Self {
        Self {
            id: row.id,
            product_id: row.product_id,
            author_name: row.author_name.clone(),
            rating: row.rating,
            comment: row.comment.clone(),
            is_mine: caller == Some(row.user_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Visible reviews of a product: mean, count and how many gave each star rating.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummary {
    /// Two decimals; null without reviews.
    pub average: Option<f64>,
    pub count: i64,
    /// Counts for 1 to 5 stars, in that order.
    pub distribution: [i64; 5],
}

impl RatingSummary {
    pub fn new(average: Option<&BigDecimal>, count: i64, by_rating: &[(i16, i64)]) -> Self {
        let mut distribution = [0; 5];
        for (rating, n) in by_rating {
            if let Some(slot) = usize::try_from(*rating - 1)
                .ok()
                .and_then(|i| distribution.get_mut(i))
            {
                *slot = *n;
            }
        }
        Self {
            average: average
                .map(|a| a.round(2))
                .as_ref()
                .and_then(BigDecimal::to_f64),
            count,
            distribution,
        }
    }
}

impl From<&Rating> for RatingSummary {
    fn from(rating: &Rating) -> Self {
        Self::new(rating.average.as_ref(), rating.count, &rating.by_stars)
    }
}

/// A page of reviews (`{reviews, total, hasMore}`) with the product's rating summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewList {
    #[serde(flatten)]
    pub page: Page<ReviewView>,
    pub summary: RatingSummary,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRequest {
    /// 1 to 5 stars.
    pub rating: Option<i64>,
    /// At most 2000 characters.
    pub comment: Option<String>,
    /// The name shown with the review (default "Verified buyer"), 1 to 60 characters.
    pub display_name: Option<String>,
}

impl ReviewRequest {
    fn parse(&self) -> Result<ReviewInput, Problem> {
        let mut v = Validation::new();
        let rating = match self.rating {
            Some(rating @ 1..=5) => i16::try_from(rating).ok(),
            Some(_) => {
                v.add("rating", "must be a whole number from 1 to 5");
                None
            }
            None => {
                v.add("rating", "is required");
                None
            }
        };
        let comment = self
            .comment
            .as_deref()
            .and_then(|c| v.check("comment", FreeText::<2000>::parse(c)));
        let name = match self.display_name.as_deref() {
            Some(name) => v.check("displayName", BoundedText::<1, 60>::parse(name)),
            None => BoundedText::<1, 60>::parse(ANONYMOUS).ok(),
        };
        v.finish(|| {
            Some(ReviewInput {
                rating: rating?,
                comment: comment.map(FreeText::into_inner).filter(|c| !c.is_empty()),
                author_name: name?.into_inner(),
            })
        })
    }
}

/// Visible reviews of a product, newest first, with its rating summary. With a token, the
/// caller's own review is marked (`isMine`).
#[utoipa::path(get, path = "/api/products/{id}/reviews", tag = "reviews",
    params(("id" = ProductId, Path, description = "The product"), PaginationQuery),
    responses((status = 200, description = "A page of reviews and the rating summary", body = ReviewList),
        (status = 401, description = BAD_TOKEN),
        (status = 404, description = "`NOT_FOUND`: no such product, or it is not listed")))]
pub async fn list_reviews(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<ProductId>,
    page: Pagination,
) -> Result<web::Json<ReviewList>, Problem> {
    let found = reviews::page(&state, *id, &page).await?;
    let caller = caller.0.map(|c| c.user_id());
    Ok(web::Json(ReviewList {
        page: Page::new(
            found
                .reviews
                .iter()
                .map(|r| ReviewView::new(r, caller))
                .collect(),
            found.total,
            page,
        ),
        summary: RatingSummary::from(&found.rating),
    }))
}

/// Review a product you received (one review per product).
#[utoipa::path(post, path = "/api/products/{id}/reviews", tag = "reviews", request_body = ReviewRequest,
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 201, description = "Written", body = ReviewView),
        (status = 403, description = "`FORBIDDEN`: not a customer, or never received this product"),
        (status = 404, description = "`NOT_FOUND`: no such product, or it is not listed"),
        (status = 409, description = "`CONFLICT`: the caller reviewed it already (edit that review instead)")),
    security(("bearer" = [])))]
pub async fn create_review(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<ProductId>,
    body: web::Json<ReviewRequest>,
) -> Result<Created<ReviewView>, Problem> {
    let input = body.parse()?;
    let author = customer.user_id();
    let row = reviews::create(&state, author, *id, &input).await?;
    Ok(Created::new(ReviewView::new(&row, Some(author))))
}

/// Edit your review (someone else's answers 404, as a missing one does).
#[utoipa::path(put, path = "/api/products/{id}/reviews/{review_id}", tag = "reviews", request_body = ReviewRequest,
    params(("id" = ProductId, Path, description = "The product"),
        ("review_id" = ReviewId, Path, description = "The caller's review of it")),
    responses((status = 200, description = "The review as it is now", body = ReviewView),
        (status = 404, description = "`NOT_FOUND`: no such product, or no such review of the caller's")),
    security(("bearer" = [])))]
pub async fn update_review(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(ProductId, ReviewId)>,
    body: web::Json<ReviewRequest>,
) -> Result<web::Json<ReviewView>, Problem> {
    let (product_id, review_id) = path.into_inner();
    let change = ReviewChange::Edit(body.parse()?);
    let author = caller.user_id();
    let row = reviews::change(&state, author, product_id, review_id, &change)
        .await?
        .ok_or_else(|| Problem::not_found("No such review."))?;
    Ok(web::Json(ReviewView::new(&row, Some(author))))
}

/// Delete your review (someone else's answers 404, as a missing one does).
#[utoipa::path(delete, path = "/api/products/{id}/reviews/{review_id}", tag = "reviews",
    params(("id" = ProductId, Path, description = "The product"),
        ("review_id" = ReviewId, Path, description = "The caller's review of it")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "`NOT_FOUND`: no such product, or no such review of the caller's")),
    security(("bearer" = [])))]
pub async fn delete_review(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(ProductId, ReviewId)>,
) -> Result<NoContent, Problem> {
    let (product_id, review_id) = path.into_inner();
    reviews::change(
        &state,
        caller.user_id(),
        product_id,
        review_id,
        &ReviewChange::Delete,
    )
    .await?;
    Ok(NoContent)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisibilityRequest {
    /// `true` hides the review, `false` shows it again.
    pub hidden: Option<bool>,
    /// Why it was hidden (kept with the review and in the audit log), at most 500 characters.
    pub reason: Option<String>,
}

/// Hide a review (or show it again); hidden reviews leave the rating.
#[utoipa::path(put, path = "/api/admin/products/{id}/reviews/{review_id}/visibility", tag = "admin",
    request_body = VisibilityRequest,
    params(("id" = ProductId, Path, description = "The product"),
        ("review_id" = ReviewId, Path, description = "One of its reviews")),
    responses((status = 200, description = "The review as it is now", body = ReviewView),
        (status = 404, description = "`NOT_FOUND`: no such product, or no such review of it")),
    security(("bearer" = [])))]
pub async fn set_review_visibility(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    path: web::Path<(ProductId, ReviewId)>,
    body: web::Json<VisibilityRequest>,
) -> Result<web::Json<ReviewView>, Problem> {
    let (product_id, review_id) = path.into_inner();
    let mut v = Validation::new();
    if body.hidden.is_none() {
        v.add("hidden", "is required");
    }
    let reason = body
        .reason
        .as_deref()
        .and_then(|r| v.check("reason", FreeText::<500>::parse(r)));
    let (hidden, reason) = v.finish(|| Some((body.hidden?, reason)))?;
    let visibility = if hidden {
        Visibility::Hidden
    } else {
        Visibility::Shown
    };
    let reason = reason
        .as_ref()
        .map(FreeText::as_str)
        .filter(|r| !r.is_empty());
    let row = reviews::moderate(&state, &admin, product_id, review_id, visibility, reason).await?;
    Ok(web::Json(ReviewView::new(&row, None)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn rating_distribution() {
        let avg = BigDecimal::from_str("4.333333").unwrap();
        let summary = RatingSummary::new(Some(&avg), 3, &[(5, 2), (3, 1)]);
        assert_eq!(summary.distribution, [0, 0, 1, 0, 2]);
        assert_eq!(summary.average, Some(4.33));
    }
}
