//! Every change to the catalog, each in one transaction with the events it announces and its
//! audit entry, followed by the cache invalidation once the change is visible.

use crate::cache;
use crate::db;
use crate::db::categories::{CategoryChanges, CategoryRow};
use crate::db::images::{ImageRow, NewImage};
use crate::db::products::{ProductChanges, ProductRow};
use crate::db::reviews::{NewReview, ReviewRow};
use crate::events::{self, Actor};
use crate::images::{self, ImageFormat};
use crate::state::AppState;
use bigdecimal::BigDecimal;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Problem};
use serde_json::json;
use uuid::Uuid;

fn category_missing() -> Problem {
    Problem::validation(vec![domain::FieldError::new(
        "categoryId",
        "no such category",
    )])
}

fn product_missing() -> Problem {
    Problem::not_found("No such product.")
}

/// Records an admin action on a product in the audit log, and returns the categories whose
/// cached pages the change touched.
async fn audited(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    product_id: Uuid,
    details: serde_json::Value,
) -> diesel::QueryResult<Vec<(Uuid, String)>> {
    events::audit(conn, actor, action, "product", product_id, details).await?;
    db::categories::of_products(conn, &[product_id]).await
}

/// Announces every product of a category again (its name, slug or state changed).
async fn reannounce_category(
    conn: &mut AsyncPgConnection,
    category_id: Uuid,
    public_url: &str,
) -> Result<(), Problem> {
    for row in db::products::touch_category(conn, category_id).await? {
        events::product_upserted(conn, &row, public_url).await?;
    }
    Ok(())
}

pub async fn create_category(
    state: &AppState,
    actor: &Actor,
    changes: CategoryChanges,
) -> Result<CategoryRow, Problem> {
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async |conn| {
            if db::categories::find_by_slug(conn, &changes.slug)
                .await?
                .is_some()
            {
                return Err(Problem::conflict("A category with this slug exists."));
            }
            let row = db::categories::insert(conn, &changes).await?;
            events::audit(
                conn,
                actor,
                "category.created",
                "category",
                row.id,
                json!({ "slug": row.slug }),
            )
            .await?;
            Ok::<_, Problem>(row)
        })
        .await?;
    state
        .cache
        .invalidate(&cache::scopes_for(&[(row.id, row.slug.clone())]))
        .await;
    Ok(row)
}

pub async fn update_category(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    changes: CategoryChanges,
) -> Result<CategoryRow, Problem> {
    let mut conn = state.db().await?;
    let (before, after) = conn
        .transaction(async |conn| {
            let before = db::categories::find(conn, id)
                .await?
                .ok_or_else(|| Problem::not_found("No such category."))?;
            if before.slug != changes.slug
                && db::categories::find_by_slug(conn, &changes.slug)
                    .await?
                    .is_some()
            {
                return Err(Problem::conflict("A category with this slug exists."));
            }
            let after = db::categories::update(conn, id, &changes)
                .await?
                .ok_or_else(|| Problem::not_found("No such category."))?;
            let announced = before.name != after.name
                || before.slug != after.slug
                || before.is_active != after.is_active;
            if announced {
                reannounce_category(conn, id, state.public_url()).await?;
            }
            events::audit(
                conn,
                actor,
                "category.updated",
                "category",
                id,
                json!({ "slug": after.slug, "active": after.is_active }),
            )
            .await?;
            Ok::<_, Problem>((before, after))
        })
        .await?;
    state
        .cache
        .invalidate(&cache::scopes_for(&[
            (id, before.slug),
            (id, after.slug.clone()),
        ]))
        .await;
    Ok(after)
}

pub async fn create_product(
    state: &AppState,
    actor: &Actor,
    changes: ProductChanges,
    initial_stock: i32,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, category) = conn
        .transaction(async |conn| {
            let category = db::categories::find(conn, changes.category_id)
                .await?
                .ok_or_else(category_missing)?;
            if let Some(slug) = &changes.slug
                && db::products::find_by_slug(conn, slug).await?.is_some()
            {
                return Err(Problem::conflict("A product with this slug exists."));
            }
            let row = db::products::insert(conn, &changes, initial_stock).await?;
            if initial_stock > 0 {
                db::stock::record_history(
                    conn,
                    db::stock::NewHistory {
                        product_id: row.id,
                        kind: "created",
                        change: initial_stock,
                        quantity_after: initial_stock,
                        reason: "initial stock",
                        actor_id: Some(actor.id),
                        order_id: None,
                    },
                )
                .await?;
            }
            events::product_upserted(conn, &row, state.public_url()).await?;
            events::audit(
                conn,
                actor,
                "product.created",
                "product",
                row.id,
                json!({ "name": row.name }),
            )
            .await?;
            Ok::<_, Problem>((row, category))
        })
        .await?;
    state
        .cache
        .invalidate(&cache::scopes_for(&[(category.id, category.slug)]))
        .await;
    Ok(row)
}

pub async fn update_product(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    mut changes: ProductChanges,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            let before = db::products::lock(conn, id)
                .await?
                .ok_or_else(product_missing)?;
            // A replacement without a slug keeps the old one: the demo seed finds its
            // products by slug and would add them again.
            if changes.slug.is_none() {
                changes.slug.clone_from(&before.slug);
            }
            let category = db::categories::find(conn, changes.category_id)
                .await?
                .ok_or_else(category_missing)?;
            if let Some(slug) = &changes.slug
                && before.slug.as_ref() != Some(slug)
                && db::products::find_by_slug(conn, slug).await?.is_some()
            {
                return Err(Problem::conflict("A product with this slug exists."));
            }
            let row = db::products::update(conn, id, &changes).await?;
            events::product_upserted(conn, &row, state.public_url()).await?;
            // The product's category now, and the one it left.
            let mut touched = audited(
                conn,
                actor,
                "product.updated",
                id,
                json!({ "name": row.name }),
            )
            .await?;
            if before.category_id != category.id
                && let Some(old) = db::categories::find(conn, before.category_id).await?
            {
                touched.push((old.id, old.slug));
            }
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// Activates or deactivates (`DELETE` without `permanent`) a product.
pub async fn set_product_active(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    active: bool,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, id)
                .await?
                .ok_or_else(product_missing)?;
            let row = db::products::set_active(conn, id, active).await?;
            events::product_upserted(conn, &row, state.public_url()).await?;
            let action = if active {
                "product.activated"
            } else {
                "product.deactivated"
            };
            let touched = audited(conn, actor, action, id, json!({})).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// Deletes a product for good (kept for history, gone for clients); refused while orders
/// hold stock of it.
pub async fn delete_product(state: &AppState, actor: &Actor, id: Uuid) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let touched = conn
        .transaction(async |conn| {
            let before = db::products::lock(conn, id).await?.ok_or_else(product_missing)?;
            if before.reserved_quantity > 0 {
                return Err(Problem::new(Code::Conflict).with_detail(
                    "Open orders hold stock of this product; deactivate it instead, or wait until they are delivered or cancelled.",
                ));
            }
            let touched = db::categories::of_products(conn, &[id]).await?;
            let row = db::products::mark_deleted(conn, id).await?;
            events::product_deleted(conn, &row).await?;
            events::audit(conn, actor, "product.deleted", "product", id, json!({ "name": row.name })).await?;
            Ok::<_, Problem>(touched)
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(())
}

/// A change of stock on hand an admin asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Counted stock: set it to this.
    Set(i32),
    /// Received or written off: add this (negative to remove).
    Adjust(i32),
}

/// Stock on hand after `change`, which may not drop below what open orders hold.
pub fn apply_stock_change(stock: i32, reserved: i32, change: StockChange) -> Result<i32, Problem> {
    let after = match change {
        StockChange::Set(quantity) => Some(quantity),
        StockChange::Adjust(delta) => stock.checked_add(delta),
    };
    match after {
        Some(after) if after >= reserved && after >= 0 => Ok(after),
        _ => Err(Problem::new(Code::Conflict).with_detail(format!(
            "Stock on hand cannot go below the {reserved} packages open orders hold."
        ))),
    }
}

pub async fn change_stock(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    change: StockChange,
    reason: &str,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            let before = db::products::lock(conn, id)
                .await?
                .ok_or_else(product_missing)?;
            let stock =
                apply_stock_change(before.stock_quantity, before.reserved_quantity, change)?;
            let row =
                db::products::set_quantities(conn, id, stock, before.reserved_quantity).await?;
            let kind = match change {
                StockChange::Set(_) => "set",
                StockChange::Adjust(_) => "adjust",
            };
            db::stock::record_history(
                conn,
                db::stock::NewHistory {
                    product_id: id,
                    kind,
                    change: stock - before.stock_quantity,
                    quantity_after: stock,
                    reason,
                    actor_id: Some(actor.id),
                    order_id: None,
                },
            )
            .await?;
            events::product_upserted(conn, &row, state.public_url()).await?;
            let touched = audited(
                conn,
                actor,
                "product.stock_changed",
                id,
                json!({ "from": before.stock_quantity, "to": stock, "reason": reason }),
            )
            .await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// Stores an image (already recognised and size-checked) and links it to the product; the
/// first image becomes the primary one.
pub async fn add_image(
    state: &AppState,
    actor: &Actor,
    product_id: Uuid,
    format: ImageFormat,
    bytes: Vec<u8>,
    alt_text: Option<&str>,
) -> Result<ImageRow, Problem> {
    let mut conn = state.db().await?;
    db::products::find(&mut conn, product_id)
        .await?
        .ok_or_else(product_missing)?;
    let image_id = Uuid::new_v4();
    let key = images::object_key(product_id, image_id, format);
    let size = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    // Stored first: a row never points at a missing object; an object without a row (the
    // transaction failed) is only wasted space.
    state
        .images
        .put(&key, bytes)
        .await
        .map_err(|err| Problem::unavailable(&err))?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            let existing = db::images::count(conn, product_id).await?;
            let first = existing == 0;
            let row = db::images::insert(
                conn,
                NewImage {
                    id: image_id,
                    product_id,
                    object_key: &key,
                    content_type: format.mime(),
                    byte_size: size,
                    alt_text,
                    sort_order: i32::try_from(existing).unwrap_or(i32::MAX),
                    is_primary: first,
                },
            )
            .await?;
            if first {
                let product = db::products::touch(conn, product_id).await?;
                events::product_upserted(conn, &product, state.public_url()).await?;
            }
            let touched = audited(
                conn,
                actor,
                "product.image_added",
                product_id,
                json!({ "imageId": image_id }),
            )
            .await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// Makes an image the primary one, or removes it (the next one becomes primary).
pub async fn change_image(
    state: &AppState,
    actor: &Actor,
    product_id: Uuid,
    image_id: Uuid,
    remove: bool,
) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let (removed_key, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            let image = db::images::find(conn, product_id, image_id)
                .await?
                .ok_or_else(|| Problem::not_found("No such image."))?;
            let removed_key = if remove {
                db::images::delete(conn, image_id).await?;
                if image.is_primary
                    && let Some(next) = db::images::for_product(conn, product_id).await?.first()
                {
                    db::images::make_primary(conn, product_id, next.id).await?;
                }
                Some(image.object_key)
            } else {
                db::images::make_primary(conn, product_id, image_id).await?;
                None
            };
            let product = db::products::touch(conn, product_id).await?;
            events::product_upserted(conn, &product, state.public_url()).await?;
            let action = if remove {
                "product.image_removed"
            } else {
                "product.image_made_primary"
            };
            let touched = audited(
                conn,
                actor,
                action,
                product_id,
                json!({ "imageId": image_id }),
            )
            .await?;
            Ok::<_, Problem>((removed_key, touched))
        })
        .await?;
    if let Some(key) = removed_key
        && let Err(err) = state.images.delete(&key).await
    {
        tracing::warn!(error = %err, key, "removed image left in the object store");
    }
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(())
}

/// Recomputes a product's rating summary from its visible reviews.
async fn refresh_rating(conn: &mut AsyncPgConnection, product_id: Uuid) -> Result<(), Problem> {
    let (average, count) = db::reviews::summary(conn, product_id).await?;
    let average = average.map(|a: BigDecimal| a.round(2));
    db::products::set_rating(
        conn,
        product_id,
        average,
        i32::try_from(count).unwrap_or(i32::MAX),
    )
    .await?;
    Ok(())
}

/// What a customer writes in a review.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub rating: i16,
    pub comment: Option<String>,
    pub author_name: String,
}

pub async fn create_review(
    state: &AppState,
    user_id: Uuid,
    product_id: Uuid,
    input: &ReviewInput,
) -> Result<ReviewRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            let product = db::products::lock(conn, product_id).await?;
            if !product.as_ref().is_some_and(ProductRow::is_listed) {
                return Err(product_missing());
            }
            if !db::reviews::has_purchased(conn, user_id, product_id).await? {
                return Err(Problem::new(Code::Forbidden)
                    .with_detail("Only customers who received this product can review it."));
            }
            let row = db::reviews::insert(
                conn,
                NewReview {
                    product_id,
                    user_id,
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

/// Edits (`Some`) or deletes (`None`) the caller's own review.
pub async fn change_review(
    state: &AppState,
    user_id: Uuid,
    product_id: Uuid,
    review_id: Uuid,
    input: Option<&ReviewInput>,
) -> Result<Option<ReviewRow>, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            // Someone else's review answers exactly as a missing one: a 403 would confirm
            // that the id exists.
            db::reviews::find(conn, product_id, review_id)
                .await?
                .filter(|review| review.user_id == user_id)
                .ok_or_else(|| Problem::not_found("No such review."))?;
            let row = match input {
                Some(input) => Some(
                    db::reviews::update(
                        conn,
                        review_id,
                        &input.author_name,
                        input.rating,
                        input.comment.as_deref(),
                    )
                    .await?,
                ),
                None => {
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

/// Hides (or shows again) a review; hidden reviews leave the rating summary.
pub async fn moderate_review(
    state: &AppState,
    actor: &Actor,
    product_id: Uuid,
    review_id: Uuid,
    hidden: bool,
    reason: Option<&str>,
) -> Result<ReviewRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, product_id)
                .await?
                .ok_or_else(product_missing)?;
            db::reviews::find(conn, product_id, review_id)
                .await?
                .ok_or_else(|| Problem::not_found("No such review."))?;
            let row = db::reviews::set_hidden(conn, review_id, hidden, reason).await?;
            refresh_rating(conn, product_id).await?;
            let action = if hidden {
                "review.hidden"
            } else {
                "review.shown"
            };
            events::audit(
                conn,
                actor,
                action,
                "review",
                review_id,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_never_drops_below_reservations() {
        assert_eq!(apply_stock_change(10, 4, StockChange::Set(6)).unwrap(), 6);
        assert_eq!(
            apply_stock_change(10, 4, StockChange::Adjust(-6)).unwrap(),
            4
        );
        assert_eq!(
            apply_stock_change(10, 4, StockChange::Set(3))
                .unwrap_err()
                .status(),
            409
        );
        assert!(apply_stock_change(10, 0, StockChange::Adjust(-11)).is_err());
        assert!(apply_stock_change(i32::MAX, 0, StockChange::Adjust(1)).is_err());
    }
}
