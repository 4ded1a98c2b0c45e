//! `/api/admin/products` and `/api/admin/products/{id}`: create, read (inactive ones too),
//! replace, take off sale, put back on sale and delete products. Their stock is
//! [`super::admin_stock`]'s, their images [`super::admin_images`]'.

use crate::db::products::ProductChanges;
use crate::product_rules::{
    Potency, PotencyInput, ProductType, StrainType, check_consistency, parse_amount, parse_effects,
    parse_price, parse_slug, parse_url,
};
use crate::products::{self, Listing, Removal};
use crate::routes::products::ProductDetail;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use domain::input::{BoundedText, FieldError, FreeText, Validation};
use domain::{CategoryId, Problem, ProductId};
use platform::api::{Created, NoContent};
use platform::client::Acting;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest stock count accepted in one request.
pub(super) const MAX_STOCK: i64 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductRequest {
    #[schema(value_type = Option<CategoryId>)]
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
    #[schema(value_type = Option<ProductType>)]
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
    #[schema(value_type = Option<StrainType>)]
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
                |id| Some(CategoryId::from(id)),
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
        let product_type = v.required(
            "productType",
            self.product_type.as_deref(),
            ProductType::from_input,
        );
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
            .and_then(|s| v.check("strainType", StrainType::from_input(s)));
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
                    product_type: product_type?,
                    net_weight_grams: net_weight,
                    thc_mg_per_package: thc_mg,
                    thc_value: thc.as_ref().map(|t| t.value.clone()),
                    thc_unit: thc.map(|t| t.unit),
                    cbd_value: cbd.as_ref().map(|c| c.value.clone()),
                    cbd_unit: cbd.map(|c| c.unit),
                    strain_type: strain,
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

/// Create a product (publishes `product.upserted`).
#[utoipa::path(post, path = "/api/admin/products", tag = "admin", request_body = ProductRequest,
    responses((status = 201, description = "Created; its admin page", body = ProductDetail,
            headers(("Location" = String, description = "The product's admin path"))),
        (status = 409, description = "`CONFLICT`: a product with this slug exists")),
    security(("bearer" = [])))]
pub async fn create_product(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    body: web::Json<ProductRequest>,
) -> Result<Created<ProductDetail>, Problem> {
    let (changes, stock) = body.parse()?;
    let page = products::create(&state, &admin, changes, stock).await?;
    let detail = ProductDetail::new(&page, None, state.public_url());
    Ok(Created::at(
        format!("/api/admin/products/{}", detail.product.id),
        detail,
    ))
}

/// A product as admins see it (inactive ones too).
#[utoipa::path(get, path = "/api/admin/products/{id}", tag = "admin",
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's page, whether on sale or not", body = ProductDetail),
        (status = 404, description = "`NOT_FOUND`: no such product (or it was deleted)")),
    security(("bearer" = [])))]
pub async fn get_admin_product(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<ProductId>,
) -> Result<web::Json<ProductDetail>, Problem> {
    let page = products::page_for_admin(&state, *id).await?;
    Ok(web::Json(ProductDetail::new(
        &page,
        None,
        state.public_url(),
    )))
}

/// Replace a product (every field but stock).
#[utoipa::path(put, path = "/api/admin/products/{id}", tag = "admin", request_body = ProductRequest,
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's page after the change", body = ProductDetail),
        (status = 404, description = "`NOT_FOUND`: no such product"),
        (status = 409, description = "`CONFLICT`: another product has this slug")),
    security(("bearer" = [])))]
pub async fn update_product(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
    body: web::Json<ProductRequest>,
) -> Result<web::Json<ProductDetail>, Problem> {
    let (changes, _) = body.parse()?;
    let page = products::update(&state, &admin, *id, changes).await?;
    Ok(web::Json(ProductDetail::new(
        &page,
        None,
        state.public_url(),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true` deletes the product for good (`product.deleted`); otherwise (default) it is
    /// only deactivated. Taken as text so a bad value is answered naming it.
    #[param(value_type = Option<bool>)]
    pub permanent: Option<String>,
}

impl DeleteQuery {
    fn parse(&self) -> Result<Removal, Problem> {
        match self.permanent.as_deref() {
            None | Some("false") => Ok(Removal::Deactivate),
            Some("true") => Ok(Removal::Permanent),
            Some(_) => Err(Problem::validation(vec![FieldError::new(
                "permanent",
                "must be true or false",
            )])),
        }
    }
}

/// Deactivate a product (or delete it with `permanent=true`).
#[utoipa::path(delete, path = "/api/admin/products/{id}", tag = "admin",
    params(("id" = ProductId, Path, description = "The product"), DeleteQuery),
    responses((status = 204, description = "Deactivated, or deleted"),
        (status = 404, description = "`NOT_FOUND`: no such product"),
        (status = 409, description = "`CONFLICT`: open orders hold its stock, so it cannot be deleted (deactivate it instead)")),
    security(("bearer" = [])))]
pub async fn delete_product(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
    query: web::Query<DeleteQuery>,
) -> Result<NoContent, Problem> {
    let removal = query.parse()?;
    products::remove(&state, &admin, *id, removal).await?;
    Ok(NoContent)
}

/// Put a deactivated product back on sale.
#[utoipa::path(post, path = "/api/admin/products/{id}/activate", tag = "admin",
    params(("id" = ProductId, Path, description = "The product")),
    responses((status = 200, description = "The product's page, on sale", body = ProductDetail),
        (status = 404, description = "`NOT_FOUND`: no such product")),
    security(("bearer" = [])))]
pub async fn activate_product(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<ProductId>,
) -> Result<web::Json<ProductDetail>, Problem> {
    let page = products::set_listing(&state, &admin, *id, Listing::Active).await?;
    Ok(web::Json(ProductDetail::new(
        &page,
        None,
        state.public_url(),
    )))
}
