//! `/api/admin/products*`: create, replace, (de)activate and delete products, stock with its
//! history, the low-stock report and images.

use crate::changes::{self, StockChange};
use crate::db;
use crate::db::products::ProductChanges;
use crate::images::{ImageFormat, MAX_IMAGE_BYTES};
use crate::products::{
    Potency, PotencyInput, ProductType, StrainType, check_consistency, parse_amount, parse_effects,
    parse_price, parse_slug, parse_url,
};
use crate::routes::actor;
use crate::routes::products::{detail, views};
use crate::state::AppState;
use crate::views::{ImageView, ProductDetail, ProductView};
use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::{BoundedText, FieldError, FreeText, Validation};
use domain::{Code, Pagination, PaginationQuery, Problem};
use futures_util::TryStreamExt;
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest stock count accepted in one request.
const MAX_STOCK: i64 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductRequest {
    pub category_id: Option<String>,
    /// Stable key (lowercase, digits, dashes); optional.
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Decimal string, e.g. "45.00".
    pub price: Option<String>,
    /// The regular price when on sale; above `price`.
    pub original_price: Option<String>,
    /// flower, pre_roll, vape, concentrate, edible, tincture, topical or accessory.
    pub product_type: Option<String>,
    /// Required for flower, pre_roll, vape and concentrate.
    #[schema(value_type = Option<f64>)]
    pub net_weight_grams: Option<serde_json::Number>,
    /// Required for edible, tincture and topical.
    #[schema(value_type = Option<f64>)]
    pub thc_mg_per_package: Option<serde_json::Number>,
    /// `"24.5%"`, `"10mg"` or `{"value": 24.5, "unit": "percent"}`.
    pub thc: Option<PotencyInput>,
    pub cbd: Option<PotencyInput>,
    /// sativa, indica or hybrid.
    pub strain_type: Option<String>,
    pub effects: Option<Vec<String>>,
    pub lab_tested: Option<bool>,
    pub lab_results_url: Option<String>,
    /// Metrc package tag the stock is sold from.
    pub package_label: Option<String>,
    pub is_featured: Option<bool>,
    pub is_active: Option<bool>,
    /// Stock on hand at creation (ignored on update: use the stock endpoints).
    pub stock_quantity: Option<i64>,
}

impl ProductRequest {
    fn parse(&self) -> Result<(ProductChanges, i32), Problem> {
        let mut v = Validation::new();
        let category_id = match self.category_id.as_deref() {
            Some(id) => Uuid::parse_str(id.trim()).map_or_else(
                |_| {
                    v.add("categoryId", "must be a category id");
                    None
                },
                Some,
            ),
            None => {
                v.add("categoryId", "is required");
                None
            }
        };
        let slug = self
            .slug
            .as_deref()
            .and_then(|slug| v.check("slug", parse_slug(slug.trim())));
        let name = v.required("name", self.name.as_deref(), BoundedText::<1, 255>::parse);
        let description = self.description.as_deref().map_or_else(
            || FreeText::<5000>::parse("").ok(),
            |d| v.check("description", FreeText::<5000>::parse(d)),
        );
        let price = v.required("price", self.price.as_deref(), parse_price);
        let original_price = self
            .original_price
            .as_deref()
            .and_then(|p| v.check("originalPrice", parse_price(p)));
        let product_type = v.required("productType", self.product_type.as_deref(), |t| {
            t.parse::<ProductType>()
        });
        let net_weight = self
            .net_weight_grams
            .as_ref()
            .and_then(|n| v.check("netWeightGrams", parse_amount(n, 10_000)));
        let thc_mg = self
            .thc_mg_per_package
            .as_ref()
            .and_then(|n| v.check("thcMgPerPackage", parse_amount(n, 100_000)));
        let thc = self
            .thc
            .as_ref()
            .and_then(|t| v.check("thc", Potency::parse(t)));
        let cbd = self
            .cbd
            .as_ref()
            .and_then(|c| v.check("cbd", Potency::parse(c)));
        let strain = self
            .strain_type
            .as_deref()
            .and_then(|s| v.check("strainType", s.parse::<StrainType>()));
        let effects = v.check(
            "effects",
            parse_effects(self.effects.as_deref().unwrap_or(&[])),
        );
        let lab_results_url = self
            .lab_results_url
            .as_deref()
            .and_then(|u| v.check("labResultsUrl", parse_url(u)));
        let package_label = self
            .package_label
            .as_deref()
            .and_then(|l| v.check("packageLabel", BoundedText::<1, 64>::parse(l)));
        let stock = match self.stock_quantity {
            None => Some(0),
            Some(n) if (0..=MAX_STOCK).contains(&n) => i32::try_from(n).ok(),
            Some(_) => {
                v.add(
                    "stockQuantity",
                    format!("must be between 0 and {MAX_STOCK}"),
                );
                None
            }
        };
        if let Some(kind) = product_type {
            check_consistency(
                &mut v,
                kind,
                net_weight.as_ref(),
                thc_mg.as_ref(),
                price,
                original_price,
            );
        }
        v.finish(|| {
            Some((
                ProductChanges {
                    category_id: category_id?,
                    slug,
                    name: name?.into_inner(),
                    description: description?.into_inner(),
                    price_cents: price?.to_cents(),
                    original_price_cents: original_price.map(domain::Money::to_cents),
                    product_type: product_type?.as_str().to_owned(),
                    net_weight_grams: net_weight,
                    thc_mg_per_package: thc_mg,
                    thc_value: thc.as_ref().map(|t| t.value.clone()),
                    thc_unit: thc.map(|t| t.unit.as_str().to_owned()),
                    cbd_value: cbd.as_ref().map(|c| c.value.clone()),
                    cbd_unit: cbd.map(|c| c.unit.as_str().to_owned()),
                    strain_type: strain.map(|s| s.as_str().to_owned()),
                    effects: effects?,
                    lab_tested: self.lab_tested.unwrap_or(false),
                    lab_results_url,
                    package_label: package_label.map(BoundedText::into_inner),
                    is_featured: self.is_featured.unwrap_or(false),
                    is_active: self.is_active.unwrap_or(true),
                },
                stock?,
            ))
        })
    }
}

async fn admin_view(state: &AppState, id: Uuid) -> Result<ProductDetail, Problem> {
    let mut conn = state.db().await?;
    let row = db::products::find(&mut conn, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such product."))?;
    detail(state, &mut conn, row, None).await
}

/// Create a product (publishes `product.upserted`).
#[utoipa::path(post, path = "/api/admin/products", tag = "admin", request_body = ProductRequest,
    responses((status = 201, body = ProductDetail), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn create_product(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    body: web::Json<ProductRequest>,
) -> Result<HttpResponse, Problem> {
    let (changes, stock) = body.parse()?;
    let row = changes::create_product(&state, &actor(&admin, client), changes, stock).await?;
    Ok(HttpResponse::Created().json(admin_view(&state, row.id).await?))
}

/// A product as admins see it (inactive ones too).
#[utoipa::path(get, path = "/api/admin/products/{id}", tag = "admin",
    responses((status = 200, body = ProductDetail), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn get_product(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(admin_view(&state, *id).await?))
}

/// Replace a product (every field but stock).
#[utoipa::path(put, path = "/api/admin/products/{id}", tag = "admin", request_body = ProductRequest,
    responses((status = 200, body = ProductDetail), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn update_product(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<ProductRequest>,
) -> Result<HttpResponse, Problem> {
    let (changes, _) = body.parse()?;
    changes::update_product(&state, &actor(&admin, client), *id, changes).await?;
    Ok(HttpResponse::Ok().json(admin_view(&state, *id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeleteQuery {
    /// `true` deletes the product for good (`product.deleted`); otherwise it is deactivated.
    pub permanent: Option<bool>,
}

/// Deactivate a product (or delete it with `permanent=true`).
#[utoipa::path(delete, path = "/api/admin/products/{id}", tag = "admin", params(DeleteQuery),
    responses((status = 204), (status = 404, body = domain::ProblemBody),
        (status = 409, description = "Open orders hold its stock", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn delete_product(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, Problem> {
    let actor = actor(&admin, client);
    if query.permanent == Some(true) {
        changes::delete_product(&state, &actor, *id).await?;
    } else {
        changes::set_product_active(&state, &actor, *id, false).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Put a deactivated product back on sale.
#[utoipa::path(post, path = "/api/admin/products/{id}/activate", tag = "admin",
    responses((status = 200, body = ProductDetail), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn activate_product(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    changes::set_product_active(&state, &actor(&admin, client), *id, true).await?;
    Ok(HttpResponse::Ok().json(admin_view(&state, *id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockRequest {
    /// `PUT .../stock`: the counted stock on hand.
    pub quantity: Option<i64>,
    /// `POST .../stock/adjustments`: packages received (positive) or written off (negative).
    pub change: Option<i64>,
    /// Why (kept in the inventory history), e.g. "weekly count" or "damaged in transit".
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockView {
    pub product_id: Uuid,
    pub stock_quantity: i32,
    pub reserved_quantity: i32,
    pub available_quantity: i32,
}

fn parse_stock(body: &StockRequest, adjust: bool) -> Result<(StockChange, String), Problem> {
    let mut v = Validation::new();
    let (field, value) = if adjust {
        ("change", body.change)
    } else {
        ("quantity", body.quantity)
    };
    let change = match value {
        None => {
            v.add(field, "is required");
            None
        }
        Some(0) if adjust => {
            v.add(field, "must not be 0");
            None
        }
        Some(n) if (-MAX_STOCK..=MAX_STOCK).contains(&n) && (adjust || n >= 0) => {
            i32::try_from(n).ok().map(|n| {
                if adjust {
                    StockChange::Adjust(n)
                } else {
                    StockChange::Set(n)
                }
            })
        }
        Some(_) => {
            v.add(
                field,
                format!(
                    "must be between {} and {MAX_STOCK}",
                    if adjust { -MAX_STOCK } else { 0 }
                ),
            );
            None
        }
    };
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 200>::parse,
    );
    v.finish(|| Some((change?, reason?.into_inner())))
}

async fn stock_change(
    state: &AppState,
    admin: &Authenticated<Admin>,
    client: ClientInfo,
    id: Uuid,
    body: &StockRequest,
    adjust: bool,
) -> Result<HttpResponse, Problem> {
    let (change, reason) = parse_stock(body, adjust)?;
    let row = changes::change_stock(state, &actor(admin, client), id, change, &reason).await?;
    Ok(HttpResponse::Ok().json(StockView {
        product_id: row.id,
        stock_quantity: row.stock_quantity,
        reserved_quantity: row.reserved_quantity,
        available_quantity: row.available(),
    }))
}

/// Set stock on hand (a count); never below what open orders hold.
#[utoipa::path(put, path = "/api/admin/products/{id}/stock", tag = "admin", request_body = StockRequest,
    responses((status = 200, body = StockView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn set_stock(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<StockRequest>,
) -> Result<HttpResponse, Problem> {
    stock_change(&state, &admin, client, *id, &body, false).await
}

/// Add received packages or write some off.
#[utoipa::path(post, path = "/api/admin/products/{id}/stock/adjustments", tag = "admin", request_body = StockRequest,
    responses((status = 200, body = StockView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn adjust_stock(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<StockRequest>,
) -> Result<HttpResponse, Problem> {
    stock_change(&state, &admin, client, *id, &body, true).await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// set, adjust, sold or created.
    pub kind: String,
    pub change: i32,
    pub quantity_after: i32,
    pub reason: String,
    pub actor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryList {
    pub entries: Vec<HistoryEntry>,
    pub total: i64,
    pub has_more: bool,
}

/// Every change of a product's stock on hand, newest first.
#[utoipa::path(get, path = "/api/admin/products/{id}/stock/history", tag = "admin", params(PaginationQuery),
    responses((status = 200, body = HistoryList), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn stock_history(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<Uuid>,
    query: web::Query<PaginationQuery>,
) -> Result<HttpResponse, Problem> {
    let page = Pagination::from_query(query.into_inner())?;
    let mut conn = state.db().await?;
    db::products::find(&mut conn, *id)
        .await?
        .ok_or_else(|| Problem::not_found("No such product."))?;
    let (rows, total) = db::stock::history(&mut conn, *id, &page).await?;
    Ok(HttpResponse::Ok().json(HistoryList {
        entries: rows
            .into_iter()
            .map(|row| HistoryEntry {
                kind: row.kind,
                change: row.change,
                quantity_after: row.quantity_after,
                reason: row.reason,
                actor_id: row.actor_id,
                order_id: row.order_id,
                created_at: row.created_at,
            })
            .collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LowStockQuery {
    /// Available packages at or below which a product is listed (default from
    /// `CATALOG_LOW_STOCK_THRESHOLD`, 10).
    pub threshold: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LowStockReport {
    pub threshold: i32,
    pub products: Vec<ProductView>,
}

/// Products on sale that are running out (the guide's analytics `lowStock`), fewest first.
#[utoipa::path(get, path = "/api/admin/products/low-stock", tag = "admin", params(LowStockQuery),
    responses((status = 200, body = LowStockReport), (status = 400, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn low_stock(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<LowStockQuery>,
) -> Result<HttpResponse, Problem> {
    let threshold = match query
        .threshold
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => state.config.catalog_low_stock_threshold,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|t| (0..=100_000).contains(t))
            .ok_or_else(|| {
                Problem::validation(vec![FieldError::new(
                    "threshold",
                    "must be a whole number from 0 to 100000",
                )])
            })?,
    };
    let mut conn = state.db().await?;
    let rows = db::products::low_stock(&mut conn, threshold).await?;
    Ok(HttpResponse::Ok().json(LowStockReport {
        threshold,
        products: views(&state, &mut conn, &rows).await?,
    }))
}

/// The multipart form the upload endpoint takes (for the API description).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart body in the OpenAPI document"
)]
pub struct ImageForm {
    /// JPEG, PNG or WebP, at most 5 MB; recognised by content.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    alt_text: Option<String>,
}

fn image_too_large() -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail("A product image may be at most 5 MB.")
}

async fn read_text(field: &mut actix_multipart::Field, name: &str) -> Result<String, Problem> {
    let mut value = Vec::new();
    while let Some(chunk) = field
        .try_next()
        .await
        .map_err(|e| Problem::bad_request(e.to_string()))?
    {
        if value.len() + chunk.len() > 1000 {
            return Err(Problem::validation(vec![FieldError::new(
                name,
                "is too long",
            )]));
        }
        value.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&value).trim().to_owned())
}

/// The image bytes and alt text of an upload form.
async fn read_image_form(mut form: Multipart) -> Result<(Vec<u8>, Option<String>), Problem> {
    let mut image: Option<Vec<u8>> = None;
    let mut alt_text = None;
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| Problem::bad_request(e.to_string()))?
    {
        match field.name() {
            Some("image") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field
                    .try_next()
                    .await
                    .map_err(|e| Problem::bad_request(e.to_string()))?
                {
                    if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                        return Err(image_too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                image = Some(bytes);
            }
            Some("altText") => alt_text = Some(read_text(&mut field, "altText").await?),
            _ => {
                while field
                    .try_next()
                    .await
                    .map_err(|e| Problem::bad_request(e.to_string()))?
                    .is_some()
                {}
            }
        }
    }
    match image {
        Some(bytes) if !bytes.is_empty() => Ok((bytes, alt_text.filter(|a| !a.is_empty()))),
        Some(_) => Err(Problem::validation(vec![FieldError::new(
            "image", "is empty",
        )])),
        None => Err(Problem::validation(vec![FieldError::new(
            "image",
            "is required",
        )])),
    }
}

/// Upload a product image (multipart field `image`, optional `altText`). The first image
/// becomes the primary one.
#[utoipa::path(post, path = "/api/admin/products/{id}/images", tag = "admin",
    request_body(content = ImageForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ImageView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 413, body = domain::ProblemBody),
        (status = 415, description = "Not a JPEG, PNG or WebP image", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn upload_image(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    form: Multipart,
) -> Result<HttpResponse, Problem> {
    let (bytes, alt_text) = read_image_form(form).await?;
    if let Some(alt) = &alt_text
        && alt.chars().count() > 255
    {
        return Err(Problem::validation(vec![FieldError::new(
            "altText",
            "must be at most 255 characters",
        )]));
    }
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
        Problem::new(Code::UnsupportedMediaType)
            .with_detail("The file is not a JPEG, PNG or WebP image (checked by its content).")
    })?;
    let row = changes::add_image(
        &state,
        &actor(&admin, client),
        *id,
        format,
        bytes,
        alt_text.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Created().json(ImageView::new(&row, state.public_url())))
}

/// Remove an image (the next one becomes primary).
#[utoipa::path(delete, path = "/api/admin/products/{id}/images/{image_id}", tag = "admin",
    responses((status = 204), (status = 404, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn delete_image(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (product_id, image_id) = path.into_inner();
    changes::change_image(&state, &actor(&admin, client), product_id, image_id, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Make an image the primary one.
#[utoipa::path(put, path = "/api/admin/products/{id}/images/{image_id}/primary", tag = "admin",
    responses((status = 204), (status = 404, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn make_image_primary(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (product_id, image_id) = path.into_inner();
    changes::change_image(&state, &actor(&admin, client), product_id, image_id, false).await?;
    Ok(HttpResponse::NoContent().finish())
}
