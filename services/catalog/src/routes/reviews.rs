//! Reviews: anyone reads them; a customer who received a product writes one (and edits or
//! deletes it); admins hide one.

use crate::changes::{self, ReviewInput};
use crate::db;
use crate::routes::actor;
use crate::routes::products::listed;
use crate::state::AppState;
use crate::views::{RatingSummary, ReviewList, ReviewView};
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated, Customer, MaybeUser};
use domain::input::{BoundedText, FreeText, Validation};
use domain::{Pagination, PaginationQuery, Problem};
use platform::client::ClientInfo;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The name shown when a reviewer gives none.
const ANONYMOUS: &str = "Verified buyer";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRequest {
    /// 1 to 5 stars.
    pub rating: Option<i64>,
    pub comment: Option<String>,
    /// The name shown with the review (default "Verified buyer").
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

/// Visible reviews of a product, newest first, with its rating summary.
#[utoipa::path(get, path = "/api/products/{id}/reviews", tag = "reviews", params(PaginationQuery),
    responses((status = 200, body = ReviewList), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody)))]
pub async fn list_reviews(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<Uuid>,
    query: web::Query<PaginationQuery>,
) -> Result<HttpResponse, Problem> {
    let page = Pagination::from_query(query.into_inner())?;
    let mut conn = state.db().await?;
    let product = listed(&mut conn, *id).await?;
    let (rows, total) = db::reviews::page(&mut conn, product.id, &page).await?;
    let (average, count) = db::reviews::summary(&mut conn, product.id).await?;
    let distribution = db::reviews::distribution(&mut conn, product.id).await?;
    let caller = caller.0.map(|c| c.user_id().into_inner());
    Ok(HttpResponse::Ok().json(ReviewList {
        reviews: rows.iter().map(|r| ReviewView::new(r, caller)).collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
        summary: RatingSummary::new(average.as_ref(), count, &distribution),
    }))
}

/// Review a product you received (one review per product).
#[utoipa::path(post, path = "/api/products/{id}/reviews", tag = "reviews", request_body = ReviewRequest,
    responses((status = 201, body = ReviewView), (status = 400, body = domain::ProblemBody),
        (status = 403, description = "Not a customer, or never received this product", body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, description = "Already reviewed", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn create_review(
    state: web::Data<AppState>,
    customer: Authenticated<Customer>,
    id: web::Path<Uuid>,
    body: web::Json<ReviewRequest>,
) -> Result<HttpResponse, Problem> {
    let input = body.parse()?;
    let user = customer.user_id().into_inner();
    let row = changes::create_review(&state, user, *id, &input).await?;
    Ok(HttpResponse::Created().json(ReviewView::new(&row, Some(user))))
}

/// Edit your review (someone else's answers 404, as a missing one does).
#[utoipa::path(put, path = "/api/products/{id}/reviews/{review_id}", tag = "reviews", request_body = ReviewRequest,
    responses((status = 200, body = ReviewView), (status = 400, body = domain::ProblemBody),
        (status = 404, description = "No such review of yours", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn update_review(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ReviewRequest>,
) -> Result<HttpResponse, Problem> {
    let (product_id, review_id) = path.into_inner();
    let input = body.parse()?;
    let user = caller.user_id().into_inner();
    let row = changes::change_review(&state, user, product_id, review_id, Some(&input))
        .await?
        .ok_or_else(|| Problem::not_found("No such review."))?;
    Ok(HttpResponse::Ok().json(ReviewView::new(&row, Some(user))))
}

/// Delete your review (someone else's answers 404, as a missing one does).
#[utoipa::path(delete, path = "/api/products/{id}/reviews/{review_id}", tag = "reviews",
    responses((status = 204), (status = 404, description = "No such review of yours", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn delete_review(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (product_id, review_id) = path.into_inner();
    changes::change_review(
        &state,
        caller.user_id().into_inner(),
        product_id,
        review_id,
        None,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisibilityRequest {
    pub hidden: Option<bool>,
    /// Why it was hidden (kept with the review and in the audit log).
    pub reason: Option<String>,
}

/// Hide a review (or show it again); hidden reviews leave the rating.
#[utoipa::path(put, path = "/api/admin/products/{id}/reviews/{review_id}/visibility", tag = "admin",
    request_body = VisibilityRequest,
    responses((status = 200, body = ReviewView), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn set_review_visibility(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<VisibilityRequest>,
) -> Result<HttpResponse, Problem> {
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
    let reason = reason
        .as_ref()
        .map(FreeText::as_str)
        .filter(|r| !r.is_empty());
    let row = changes::moderate_review(
        &state,
        &actor(&admin, client),
        product_id,
        review_id,
        hidden,
        reason,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ReviewView::new(&row, None)))
}
