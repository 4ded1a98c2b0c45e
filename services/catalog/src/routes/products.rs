//! `GET /api/products` (filters, search, sorts; category and featured pages from the cache),
//! `GET /api/products/{id}` and the images' stable URLs; the product views, which admins
//! see too (money as decimal strings, DESIGN §5).

use crate::cache::Source;
use crate::db::images::ImageRow;
use crate::images::{self, ImageFile, Viewer};
use crate::product_filter::{ListFilter, ListQuery};
use crate::product_rules::{PotencyUnit, ProductType, StrainType};
use crate::products::{self, Card, ProductPage};
use crate::routes::BAD_TOKEN;
use crate::routes::reviews::{RatingSummary, ReviewView};
use crate::state::AppState;
use actix_web::body::BoxBody;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use auth_token::MaybeUser;
use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, Utc};
use domain::ids::ImageId;
use domain::{CategoryId, Listed, Money, Page, PaginationQuery, Problem, ProductId, Role, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A category as embedded in a product.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRefView {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
}

/// THC or CBD content as a number with its unit, and the guide's display text.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PotencyView {
    pub value: f64,
    pub unit: PotencyUnit,
    /// E.g. `24.5%` or `10mg`.
    pub display: String,
}

fn potency(value: Option<&BigDecimal>, unit: Option<PotencyUnit>) -> Option<PotencyView> {
    let (value, unit) = (value?, unit?);
    let normalized = value.normalized();
    let display = match unit {
        PotencyUnit::Percent => format!("{normalized}%"),
        PotencyUnit::Mg => format!("{normalized}mg"),
    };
    Some(PotencyView {
        value: value.to_f64().unwrap_or_default(),
        unit,
        display,
    })
}

fn number(value: Option<&BigDecimal>) -> Option<f64> {
    value.and_then(BigDecimal::to_f64)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub id: ImageId,
    /// Stable: the image at this URL never changes (cache it for good).
    pub url: String,
    pub alt_text: Option<String>,
    /// image/jpeg, image/png or image/webp.
    pub content_type: String,
    pub is_primary: bool,
    pub sort_order: i32,
}

impl ImageView {
    pub fn new(row: &ImageRow, public_url: &str) -> Self {
        Self {
            id: row.id,
            url: images::public_url(public_url, row.product_id, row.id),
            alt_text: row.alt_text.clone(),
            content_type: row.content_type.clone(),
            is_primary: row.is_primary,
            sort_order: row.sort_order,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingView {
    /// Mean of visible reviews, two decimals; null without reviews.
    pub average: Option<f64>,
    pub count: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub id: ProductId,
    pub slug: Option<String>,
    pub name: String,
    pub description: String,
    pub category: CategoryRefView,
    #[schema(value_type = String, example = "45.00")]
    pub price: Money,
    /// The price before a sale, when on sale.
    #[schema(value_type = Option<String>, example = "50.00")]
    pub original_price: Option<Money>,
    pub product_type: ProductType,
    /// Net cannabis weight of one package in grams.
    pub net_weight_grams: Option<f64>,
    /// Total THC in one package in milligrams (edibles, tinctures, topicals).
    pub thc_mg_per_package: Option<f64>,
    pub thc: Option<PotencyView>,
    pub cbd: Option<PotencyView>,
    /// The guide's `thcContent`: `thc.value` as a number (percent or mg, as `thc.unit` says).
    pub thc_content: Option<f64>,
    /// The guide's `cbdContent`: `cbd.value` as a number.
    pub cbd_content: Option<f64>,
    pub strain_type: Option<StrainType>,
    pub effects: Vec<String>,
    pub lab_tested: bool,
    pub lab_results_url: Option<String>,
    pub in_stock: bool,
    /// Packages that can be ordered now.
    pub available_quantity: i32,
    pub is_featured: bool,
    pub is_active: bool,
    pub rating: RatingView,
    pub primary_image: Option<ImageView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Listed for ProductView {
    const KEY: &'static str = "products";
}

impl ProductView {
    pub fn new(card: &Card, public_url: &str) -> Self {
        let (row, category) = (&card.row, card.category.as_ref());
        Self {
            id: row.id,
            slug: row.slug.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            category: CategoryRefView {
                id: row.category_id,
                name: category.map(|c| c.name.clone()).unwrap_or_default(),
                slug: category.map(|c| c.slug.clone()).unwrap_or_default(),
            },
            price: Money::from_cents(row.price_cents).unwrap_or(Money::ZERO),
            original_price: row.original_price_cents.and_then(Money::from_cents),
            product_type: row.product_type,
            net_weight_grams: number(row.net_weight_grams.as_ref()),
            thc_mg_per_package: number(row.thc_mg_per_package.as_ref()),
            thc: potency(row.thc_value.as_ref(), row.thc_unit),
            cbd: potency(row.cbd_value.as_ref(), row.cbd_unit),
            thc_content: number(row.thc_value.as_ref()),
            cbd_content: number(row.cbd_value.as_ref()),
            strain_type: row.strain_type,
            effects: row.effects.clone(),
            lab_tested: row.lab_tested,
            lab_results_url: row.lab_results_url.clone(),
            in_stock: row.available() > 0,
            available_quantity: row.available(),
            is_featured: row.is_featured,
            is_active: row.is_active,
            rating: RatingView {
                average: number(row.rating_average.as_ref()),
                count: row.rating_count,
            },
            primary_image: card
                .primary_image
                .as_ref()
                .map(|image| ImageView::new(image, public_url)),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// The views of `cards`.
    pub fn all(cards: &[Card], public_url: &str) -> Vec<Self> {
        cards
            .iter()
            .map(|card| Self::new(card, public_url))
            .collect()
    }
}

/// `GET /api/products/{id}` (the guide's shape: product, images, reviews); admins get the
/// same for any product.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetail {
    pub product: ProductView,
    pub images: Vec<ImageView>,
    /// The first 10 visible reviews, newest first (`/reviews` pages through all of them).
    pub reviews: Vec<ReviewView>,
    pub reviews_total: i64,
    pub rating_summary: RatingSummary,
}

impl ProductDetail {
    /// The detail of `page`, as `caller` (whose reviews are marked theirs) sees it.
    pub fn new(page: &ProductPage, caller: Option<UserId>, public_url: &str) -> Self {
        Self {
            product: ProductView::new(&page.card, public_url),
            images: page
                .images
                .iter()
                .map(|image| ImageView::new(image, public_url))
                .collect(),
            reviews: page
                .reviews
                .iter()
                .map(|r| ReviewView::new(r, caller))
                .collect(),
            reviews_total: page.reviews_total,
            rating_summary: RatingSummary::from(&page.rating),
        }
    }
}

/// A list answer that may come from the cache: the JSON as stored, with `X-Cache`.
pub struct CachedJson {
    body: String,
    source: Source,
}

impl Responder for CachedJson {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("x-cache", self.source.as_str()))
            .body(self.body)
    }
}

/// Browse and search products. `X-Cache` says whether a category or featured page came
/// from the cache (`hit`), was stored in it (`miss`) or is never cached (`bypass`).
#[utoipa::path(get, path = "/api/products", tag = "catalog", params(ListQuery, PaginationQuery),
    responses((status = 200, description = "A page of products", body = Page<ProductView>,
        headers(("X-Cache" = String, description = "`hit`, `miss` or `bypass`")))))]
pub async fn list_products(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    page: web::Query<PaginationQuery>,
) -> Result<CachedJson, Problem> {
    let filter = ListFilter::parse(&query, page.into_inner())?;
    let (body, source) = state
        .cache
        .read_through(filter.cache_scope(), &filter.canonical(), || async {
            let (cards, total) = products::list(&state, &filter).await?;
            let page = Page::new(
                ProductView::all(&cards, state.public_url()),
                total,
                filter.page,
            );
            serde_json::to_string(&page).map_err(|err| Problem::internal(&err))
        })
        .await?;
    Ok(CachedJson { body, source })
}

/// A product with its images, first reviews and rating summary. With a token, the caller's
/// own reviews are marked (`isMine`).
#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog",
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's page", body = ProductDetail),
        (status = 401, description = BAD_TOKEN),
        (status = 404, description = "`NOT_FOUND`: no such product, or it is inactive, deleted or in an inactive category")))]
pub async fn get_product(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<ProductId>,
) -> Result<web::Json<ProductDetail>, Problem> {
    let page = products::page(&state, *id).await?;
    let caller = caller.0.map(|c| c.user_id());
    Ok(web::Json(ProductDetail::new(
        &page,
        caller,
        state.public_url(),
    )))
}

/// An image's bytes, cached for good where anyone may see it.
pub struct ImageAnswer(ImageFile);

impl Responder for ImageAnswer {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let ImageFile {
            content_type,
            bytes,
            public,
        } = self.0;
        // What only an admin may see must not stay in a shared cache.
        let cache = if public {
            "public, max-age=31536000, immutable"
        } else {
            "private, no-store"
        };
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes)
    }
}

/// A product image (immutable: cache it for good). Only while its product is listed: the
/// image of a hidden or deleted product answers 404 as the product does, except to admins,
/// who see such products in their console.
#[utoipa::path(get, path = "/api/products/{id}/images/{image_id}", tag = "catalog",
    params(("id" = ProductId, Path, description = "The product"),
        ("image_id" = ImageId, Path, description = "One of its images")),
    responses((status = 200, description = "The image (JPEG, PNG or WebP)",
            content(("image/jpeg"), ("image/png"), ("image/webp")),
            headers(("Cache-Control" = String, description = "`public, max-age=31536000, immutable`, or `private, no-store` for an admin's look at a hidden product"))),
        (status = 401, description = BAD_TOKEN),
        (status = 404, description = "`NOT_FOUND`: no such image of this product, or the product is not listed")))]
pub async fn get_image(
    state: web::Data<AppState>,
    caller: MaybeUser,
    path: web::Path<(ProductId, ImageId)>,
) -> Result<ImageAnswer, Problem> {
    let (product_id, image_id) = path.into_inner();
    let viewer = match caller.0 {
        Some(claims) if claims.role == Role::Admin => Viewer::Admin,
        _ => Viewer::Anyone,
    };
    let file = images::open(&state, product_id, image_id, viewer).await?;
    Ok(ImageAnswer(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn potencies_display_like_the_guide() {
        let value = BigDecimal::from_str("24.50").unwrap();
        let view = potency(Some(&value), Some(PotencyUnit::Percent)).unwrap();
        assert_eq!((view.value, view.display.as_str()), (24.5, "24.5%"));
        let mg = BigDecimal::from_str("10.00").unwrap();
        assert_eq!(
            potency(Some(&mg), Some(PotencyUnit::Mg)).unwrap().display,
            "10mg"
        );
        assert!(potency(None, Some(PotencyUnit::Mg)).is_none());
    }
}
