//! The demo catalog (`seed/catalog.json` and its images, embedded in the binary), loaded at
//! start when `CATALOG_SEED_DEMO` is set (`make run` sets it). Idempotent: categories and
//! products are found by slug and only missing ones are added, so an admin's later changes
//! survive a restart. Each new product is announced like any other.

use crate::db;
use crate::db::categories::CategoryChanges;
use crate::db::images::NewImage;
use crate::db::inventory::{HistoryKind, NewHistory};
use crate::db::products::ProductChanges;
use crate::events;
use crate::images::ImageFormat;
use crate::product_rules::{PotencyUnit, ProductType, StrainType};
use bigdecimal::BigDecimal;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::ids::ImageId;
use domain::{CategoryId, Money};
use platform::objects::Objects;
use serde::Deserialize;
use std::str::FromStr;

include!(concat!(env!("OUT_DIR"), "/seed_images.rs"));

const CATALOG: &str = include_str!("../seed/catalog.json");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the demo catalog is invalid: {0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Objects(#[from] platform::objects::ObjectsError),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedCatalog {
    categories: Vec<SeedCategory>,
    products: Vec<SeedProduct>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedCategory {
    slug: String,
    name: String,
    icon: Option<String>,
    description: Option<String>,
    sort_order: i32,
}

#[derive(Debug, Deserialize)]
struct SeedPotency {
    value: String,
    unit: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedProduct {
    slug: String,
    category: String,
    name: String,
    description: String,
    price: String,
    original_price: Option<String>,
    product_type: String,
    net_weight_grams: Option<String>,
    thc_mg_per_package: Option<String>,
    thc: Option<SeedPotency>,
    cbd: Option<SeedPotency>,
    strain_type: Option<String>,
    effects: Vec<String>,
    lab_tested: bool,
    lab_results_url: Option<String>,
    stock: i32,
    featured: bool,
    image: String,
    image_alt: String,
}

fn invalid(what: impl Into<String>) -> SeedError {
    SeedError::Invalid(what.into())
}

fn decimal(text: Option<&String>) -> Result<Option<BigDecimal>, SeedError> {
    text.map(|t| BigDecimal::from_str(t).map_err(|_| invalid(format!("not a number: {t}"))))
        .transpose()
}

fn cents(text: &str) -> Result<i64, SeedError> {
    Money::parse(text)
        .map(Money::to_cents)
        .map_err(|_| invalid(format!("not a price: {text}")))
}

/// A closed value of the demo catalog (a type, a unit), or what is wrong with it.
fn known<T: FromStr>(what: &str, text: &str) -> Result<T, SeedError> {
    text.parse()
        .map_err(|_| invalid(format!("not a {what}: {text}")))
}

impl SeedProduct {
    fn changes(&self, category_id: CategoryId) -> Result<ProductChanges, SeedError> {
        let potency = |p: &Option<SeedPotency>| -> Result<
            (Option<BigDecimal>, Option<PotencyUnit>),
            SeedError,
        > {
            match p {
                Some(p) => Ok((
                    decimal(Some(&p.value))?,
                    Some(known::<PotencyUnit>("unit", &p.unit)?),
                )),
                None => Ok((None, None)),
            }
        };
        let (thc_value, thc_unit) = potency(&self.thc)?;
        let (cbd_value, cbd_unit) = potency(&self.cbd)?;
        Ok(ProductChanges {
            category_id,
            slug: Some(self.slug.clone()),
            name: self.name.clone(),
            description: self.description.clone(),
            price_cents: cents(&self.price)?,
            original_price_cents: self.original_price.as_deref().map(cents).transpose()?,
            product_type: known::<ProductType>("product type", &self.product_type)?,
            net_weight_grams: decimal(self.net_weight_grams.as_ref())?,
            thc_mg_per_package: decimal(self.thc_mg_per_package.as_ref())?,
            thc_value,
            thc_unit,
            cbd_value,
            cbd_unit,
            strain_type: self
                .strain_type
                .as_deref()
                .map(|strain| known::<StrainType>("strain type", strain))
                .transpose()?,
            effects: self.effects.clone(),
            lab_tested: self.lab_tested,
            lab_results_url: self.lab_results_url.clone(),
            package_label: None,
            is_featured: self.featured,
            is_active: true,
        })
    }
}

/// Adds what is missing of the demo catalog; returns the categories (id, slug) whose
/// products changed, for the cache.
pub async fn load_demo(
    conn: &mut AsyncPgConnection,
    objects: &Objects,
    public_url: &str,
) -> Result<Vec<(CategoryId, String)>, SeedError> {
    let catalog: SeedCatalog = serde_json::from_str(CATALOG).map_err(|e| invalid(e.to_string()))?;
    // Only products not loaded before: a restart stores no image again.
    let slugs: Vec<&str> = catalog.products.iter().map(|p| p.slug.as_str()).collect();
    let existing = db::products::existing_slugs(conn, &slugs).await?;
    let missing: Vec<&SeedProduct> = catalog
        .products
        .iter()
        .filter(|p| !existing.contains(&p.slug))
        .collect();
    // Images first, under keys derived from the slug (a second writer stores the same bytes).
    let mut image_keys = Vec::with_capacity(missing.len());
    for product in &missing {
        let bytes = SEED_IMAGES
            .iter()
            .find(|(name, _)| *name == product.image)
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| invalid(format!("missing image {}", product.image)))?;
        let format = ImageFormat::sniff(bytes)
            .ok_or_else(|| invalid(format!("{} is not an image", product.image)))?;
        let key = format!(
            "product-images/demo/{}.{}",
            product.slug,
            format.extension()
        );
        objects.put(&key, bytes.to_vec()).await?;
        image_keys.push((key, format, bytes.len()));
    }
    let touched = conn
        .transaction(async |conn| {
            let mut touched = Vec::new();
            for category in &catalog.categories {
                if db::categories::find_by_slug(conn, &category.slug)
                    .await?
                    .is_none()
                {
                    db::categories::insert(
                        conn,
                        &CategoryChanges {
                            name: category.name.clone(),
                            slug: category.slug.clone(),
                            icon: category.icon.clone(),
                            description: category.description.clone(),
                            sort_order: category.sort_order,
                            is_active: true,
                        },
                    )
                    .await?;
                }
            }
            for (product, (key, format, size)) in missing.iter().zip(&image_keys) {
                if db::products::find_by_slug(conn, &product.slug)
                    .await?
                    .is_some()
                {
                    continue;
                }
                let category = db::categories::find_by_slug(conn, &product.category)
                    .await?
                    .ok_or_else(|| invalid(format!("unknown category {}", product.category)))?;
                let row = db::products::insert(conn, &product.changes(category.id)?, product.stock)
                    .await?;
                db::inventory::record(
                    conn,
                    NewHistory {
                        product_id: row.id,
                        kind: HistoryKind::Created,
                        change: product.stock,
                        quantity_after: product.stock,
                        reason: "demo catalog",
                        actor_id: None,
                        order_id: None,
                    },
                )
                .await?;
                db::images::insert(
                    conn,
                    NewImage {
                        id: ImageId::new(),
                        product_id: row.id,
                        object_key: key,
                        content_type: format.mime(),
                        byte_size: i32::try_from(*size).unwrap_or(i32::MAX),
                        alt_text: Some(&product.image_alt),
                        sort_order: 0,
                        is_primary: true,
                    },
                )
                .await?;
                events::product_upserted(conn, &row, public_url).await?;
                if !touched.iter().any(|(id, _)| *id == category.id) {
                    touched.push((category.id, category.slug));
                }
            }
            Ok::<_, SeedError>(touched)
        })
        .await?;
    if !touched.is_empty() {
        tracing::info!(categories = touched.len(), "demo catalog loaded");
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalog_parses_and_every_product_has_its_image() {
        let catalog: SeedCatalog = serde_json::from_str(CATALOG).unwrap();
        assert_eq!(catalog.products.len(), 40);
        for product in &catalog.products {
            product.changes(CategoryId::new()).unwrap();
            let (_, bytes) = SEED_IMAGES
                .iter()
                .find(|(name, _)| *name == product.image)
                .unwrap();
            assert_eq!(
                ImageFormat::sniff(bytes),
                Some(ImageFormat::Png),
                "{}",
                product.image
            );
            assert!(
                catalog
                    .categories
                    .iter()
                    .any(|c| c.slug == product.category)
            );
        }
    }
}
