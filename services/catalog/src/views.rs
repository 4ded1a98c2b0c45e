//! What clients see: the JSON shapes of categories, products, images and reviews (camelCase,
//! money as decimal strings, DESIGN §5).

use crate::db::categories::CategoryRow;
use crate::db::images::ImageRow;
use crate::db::products::ProductRow;
use crate::db::reviews::ReviewRow;
use crate::images;
use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, Utc};
use domain::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub sort_order: i32,
    pub is_active: bool,
}

impl From<&CategoryRow> for CategoryView {
    fn from(row: &CategoryRow) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            slug: row.slug.clone(),
            icon: row.icon.clone(),
            description: row.description.clone(),
            sort_order: row.sort_order,
            is_active: row.is_active,
        }
    }
}

/// A category as embedded in a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRefView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

/// THC or CBD content as a number with its unit, and the guide's display text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PotencyView {
    pub value: f64,
    /// `percent` or `mg`.
    pub unit: String,
    /// E.g. `24.5%` or `10mg`.
    pub display: String,
}

fn potency(value: Option<&BigDecimal>, unit: Option<&str>) -> Option<PotencyView> {
    let (value, unit) = (value?, unit?);
    let normalized = value.normalized();
    let display = match unit {
        "percent" => format!("{normalized}%"),
        _ => format!("{normalized}{unit}"),
    };
    Some(PotencyView {
        value: value.to_f64().unwrap_or_default(),
        unit: unit.to_owned(),
        display,
    })
}

fn number(value: Option<&BigDecimal>) -> Option<f64> {
    value.and_then(BigDecimal::to_f64)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub id: Uuid,
    pub url: String,
    pub alt_text: Option<String>,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingView {
    /// Mean of visible reviews, two decimals; null without reviews.
    pub average: Option<f64>,
    pub count: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub id: Uuid,
    pub slug: Option<String>,
    pub name: String,
    pub description: String,
    pub category: CategoryRefView,
    #[schema(value_type = String, example = "45.00")]
    pub price: Money,
    /// The price before a sale, when on sale.
    #[schema(value_type = Option<String>, example = "50.00")]
    pub original_price: Option<Money>,
    /// flower, pre_roll, vape, concentrate, edible, tincture, topical or accessory.
    pub product_type: String,
    /// Net cannabis weight of one package in grams.
    pub net_weight_grams: Option<f64>,
    /// Total THC in one package in milligrams (edibles, tinctures, topicals).
    pub thc_mg_per_package: Option<f64>,
    pub thc: Option<PotencyView>,
    pub cbd: Option<PotencyView>,
    pub strain_type: Option<String>,
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

impl ProductView {
    pub fn new(
        row: &ProductRow,
        category: Option<&CategoryRow>,
        primary_image: Option<&ImageRow>,
        public_url: &str,
    ) -> Self {
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
            product_type: row.product_type.clone(),
            net_weight_grams: number(row.net_weight_grams.as_ref()),
            thc_mg_per_package: number(row.thc_mg_per_package.as_ref()),
            thc: potency(row.thc_value.as_ref(), row.thc_unit.as_deref()),
            cbd: potency(row.cbd_value.as_ref(), row.cbd_unit.as_deref()),
            strain_type: row.strain_type.clone(),
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
            primary_image: primary_image.map(|image| ImageView::new(image, public_url)),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductList {
    pub products: Vec<ProductView>,
    pub total: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub author_name: String,
    pub rating: i16,
    pub comment: Option<String>,
    /// Whether the caller wrote it (they may edit or delete it).
    pub is_mine: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReviewView {
    pub fn new(row: &ReviewRow, caller: Option<Uuid>) -> Self {
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummary {
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewList {
    pub reviews: Vec<ReviewView>,
    pub total: i64,
    pub has_more: bool,
    pub summary: RatingSummary,
}

/// `GET /api/products/{id}` (the guide's shape: product, images, reviews).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetail {
    pub product: ProductView,
    pub images: Vec<ImageView>,
    pub reviews: Vec<ReviewView>,
    pub reviews_total: i64,
    pub rating_summary: RatingSummary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn potencies_display_like_the_guide() {
        let value = BigDecimal::from_str("24.50").unwrap();
        let view = potency(Some(&value), Some("percent")).unwrap();
        assert_eq!((view.value, view.display.as_str()), (24.5, "24.5%"));
        let mg = BigDecimal::from_str("10.00").unwrap();
        assert_eq!(potency(Some(&mg), Some("mg")).unwrap().display, "10mg");
        assert!(potency(None, Some("mg")).is_none());
    }

    #[test]
    fn rating_distribution() {
        let avg = BigDecimal::from_str("4.333333").unwrap();
        let summary = RatingSummary::new(Some(&avg), 3, &[(5, 2), (3, 1)]);
        assert_eq!(summary.distribution, [0, 0, 1, 0, 2]);
        assert_eq!(summary.average, Some(4.33));
    }
}
