//! `GET /api/products` (filters, search, sorts; category and featured pages from the cache),
//! `GET /api/products/{id}` and the images' stable URLs.

use crate::db;
use crate::db::products::ProductRow;
use crate::listing::{ListFilter, ListQuery};
use crate::state::AppState;
use crate::views::{ImageView, ProductDetail, ProductList, ProductView, RatingSummary, ReviewView};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_token::MaybeUser;
use domain::{Pagination, Problem, Role};
use std::collections::HashMap;
use uuid::Uuid;

/// Reviews shown with a product before the client asks for more.
const FIRST_REVIEWS: u32 = 10;

/// Views of `rows` with their categories and primary images.
pub async fn views(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    rows: &[ProductRow],
) -> Result<Vec<ProductView>, Problem> {
    let categories: HashMap<Uuid, _> = db::categories::list(conn, true)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let images: HashMap<Uuid, _> = db::images::primaries(conn, &ids)
        .await?
        .into_iter()
        .map(|image| (image.product_id, image))
        .collect();
    Ok(rows
        .iter()
        .map(|row| {
            ProductView::new(
                row,
                categories.get(&row.category_id),
                images.get(&row.id),
                state.public_url(),
            )
        })
        .collect())
}

async fn load_list(state: &AppState, filter: &ListFilter) -> Result<ProductList, Problem> {
    let mut conn = state.db().await?;
    let (rows, total) = db::products::list(&mut conn, filter).await?;
    Ok(ProductList {
        products: views(state, &mut conn, &rows).await?,
        total,
        has_more: filter
            .page
            .has_more(u64::try_from(total).unwrap_or_default()),
    })
}

/// Browse and search products. `X-Cache` says whether a category or featured page came
/// from the cache (`hit`), was stored in it (`miss`) or is never cached (`bypass`).
#[utoipa::path(get, path = "/api/products", tag = "catalog", params(ListQuery),
    responses((status = 200, body = ProductList), (status = 400, body = domain::ProblemBody)))]
pub async fn list_products(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Problem> {
    let filter = ListFilter::parse(&query)?;
    let scope = filter.cache_scope();
    let field = filter.canonical();
    let lookup = match &scope {
        Some(scope) => state.cache.get(scope, &field).await,
        None => None,
    };
    if let Some(page) = lookup.as_ref().and_then(|lookup| lookup.page.clone()) {
        return Ok(json(page, "hit"));
    }
    let list = load_list(&state, &filter).await?;
    let body = serde_json::to_string(&list).map_err(|err| Problem::internal(&err))?;
    match (&scope, &lookup) {
        (Some(scope), Some(lookup)) => {
            state.cache.put(scope, lookup, &field, &body).await;
            Ok(json(body, "miss"))
        }
        _ => Ok(json(body, "bypass")),
    }
}

fn json(body: String, cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("x-cache", cache))
        .body(body)
}

/// A product that clients may see, or 404.
pub async fn listed(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<ProductRow, Problem> {
    find_listed(conn, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such product."))
}

/// The product if clients may see it: listed, in an active category.
async fn find_listed(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
) -> Result<Option<ProductRow>, Problem> {
    let Some(row) = db::products::find(conn, id)
        .await?
        .filter(ProductRow::is_listed)
    else {
        return Ok(None);
    };
    let category_active = db::categories::find(conn, row.category_id)
        .await?
        .is_some_and(|c| c.is_active);
    Ok(category_active.then_some(row))
}

/// A product with its images, first reviews and rating summary.
#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog",
    responses((status = 200, body = ProductDetail), (status = 404, body = domain::ProblemBody)))]
pub async fn get_product(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let row = listed(&mut conn, *id).await?;
    let detail = detail(
        &state,
        &mut conn,
        row,
        caller.0.map(|c| c.user_id().into_inner()),
    )
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// The detail view of `row` (also what admins see of an inactive product).
pub async fn detail(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    row: ProductRow,
    caller: Option<Uuid>,
) -> Result<ProductDetail, Problem> {
    let images = db::images::for_product(conn, row.id).await?;
    let first = Pagination::from_query(domain::PaginationQuery {
        limit: Some(FIRST_REVIEWS.to_string()),
        offset: None,
    })?;
    let (reviews, reviews_total) = db::reviews::page(conn, row.id, &first).await?;
    let (average, count) = db::reviews::summary(conn, row.id).await?;
    let distribution = db::reviews::distribution(conn, row.id).await?;
    let product = views(state, conn, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or_else(|| Problem::not_found("No such product."))?;
    Ok(ProductDetail {
        product,
        images: images
            .iter()
            .map(|image| ImageView::new(image, state.public_url()))
            .collect(),
        reviews: reviews.iter().map(|r| ReviewView::new(r, caller)).collect(),
        reviews_total,
        rating_summary: RatingSummary::new(average.as_ref(), count, &distribution),
    })
}

/// A product image (immutable: cache it for good). Only while its product is listed: the
/// image of a hidden or deleted product answers 404 as the product does, except to admins,
/// who see such products in their console.
#[utoipa::path(get, path = "/api/products/{id}/images/{image_id}", tag = "catalog",
    responses((status = 200, description = "The image (JPEG, PNG or WebP)", content_type = "image/*"),
        (status = 404, body = domain::ProblemBody)))]
pub async fn get_image(
    state: web::Data<AppState>,
    caller: MaybeUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (product_id, image_id) = path.into_inner();
    let admin = caller.0.is_some_and(|c| c.role == Role::Admin);
    let mut conn = state.db().await?;
    let public = find_listed(&mut conn, product_id).await?.is_some();
    if !public && !admin {
        return Err(Problem::not_found("No such image."));
    }
    let image = db::images::find(&mut conn, product_id, image_id)
        .await?
        .ok_or_else(|| Problem::not_found("No such image."))?;
    drop(conn);
    let bytes = state.images.get(&image.object_key).await.map_err(|err| {
        if err.is_not_found() {
            Problem::not_found("The image is no longer stored.")
        } else {
            Problem::unavailable(&err)
        }
    })?;
    // What only an admin may see must not stay in a shared cache.
    let cache = if public {
        "public, max-age=31536000, immutable"
    } else {
        "private, no-store"
    };
    Ok(HttpResponse::Ok()
        .content_type(image.content_type)
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
