//! Products: what clients browse (a page of the list, a product's page) and what admins
//! change (create, replace, take off sale and put back, delete). Each change runs in one
//! transaction with its `product.upserted`/`product.deleted` and its audit entry, and drops
//! the cached pages of the categories it touched once it committed. The rules of a product's
//! fields are [`crate::product_rules`]'.

use crate::cache;
use crate::db;
use crate::db::categories::CategoryRow;
use crate::db::categories::Which;
use crate::db::images::ImageRow;
use crate::db::inventory::{HistoryKind, NewHistory};
use crate::db::products::{ProductChanges, ProductRow};
use crate::db::reviews::ReviewRow;
use crate::events::{self, Subject};
use crate::product_filter::ListFilter;
use crate::reviews::{self, Rating};
use crate::state::AppState;
use ::events::audit::Actor;
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{CategoryId, Code, Pagination, PaginationQuery, Problem, ProductId, UserId};
use serde_json::json;
use std::collections::HashMap;

/// Reviews shown with a product before the client asks for more.
const FIRST_REVIEWS: u32 = 10;

pub(crate) fn product_missing() -> Problem {
    Problem::not_found("No such product.")
}

fn category_missing() -> Problem {
    Problem::validation(vec![domain::FieldError::new(
        "categoryId",
        "no such category",
    )])
}

/// A product with what its view shows besides its row: its category and primary image.
#[derive(Debug, Clone)]
pub struct Card {
    pub row: ProductRow,
    pub category: Option<CategoryRow>,
    pub primary_image: Option<ImageRow>,
}

/// The cards of `rows`, in their order.
pub async fn cards(conn: &mut AsyncPgConnection, rows: Vec<ProductRow>) -> QueryResult<Vec<Card>> {
    let categories: HashMap<CategoryId, CategoryRow> = db::categories::list(conn, Which::All)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let ids: Vec<ProductId> = rows.iter().map(|row| row.id).collect();
    let mut images: HashMap<ProductId, ImageRow> = db::images::primaries(conn, &ids)
        .await?
        .into_iter()
        .map(|image| (image.product_id, image))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Card {
            category: categories.get(&row.category_id).cloned(),
            primary_image: images.remove(&row.id),
            row,
        })
        .collect())
}

/// One page of the products clients may see that match `filter`, and how many match in all.
pub async fn list(state: &AppState, filter: &ListFilter) -> Result<(Vec<Card>, u64), Problem> {
    let mut conn = state.db().await?;
    let (rows, total) = db::products::list(&mut conn, filter).await?;
    let cards = cards(&mut conn, rows).await?;
    Ok((cards, u64::try_from(total).unwrap_or_default()))
}

/// The product if clients may see it: listed, in an active category.
pub async fn find_listed(
    conn: &mut AsyncPgConnection,
    id: ProductId,
) -> QueryResult<Option<ProductRow>> {
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

/// A product that clients may see, or 404.
pub async fn listed(conn: &mut AsyncPgConnection, id: ProductId) -> Result<ProductRow, Problem> {
    find_listed(conn, id).await?.ok_or_else(product_missing)
}

/// A product's page: its card, images, first reviews and rating.
#[derive(Debug, Clone)]
pub struct ProductPage {
    pub card: Card,
    pub images: Vec<ImageRow>,
    pub reviews: Vec<ReviewRow>,
    pub reviews_total: i64,
    pub rating: Rating,
}

async fn page_of(conn: &mut AsyncPgConnection, row: ProductRow) -> Result<ProductPage, Problem> {
    let images = db::images::for_product(conn, row.id).await?;
    let first = Pagination::from_query(PaginationQuery {
        limit: Some(FIRST_REVIEWS.to_string()),
        offset: None,
    })?;
    let (reviews, reviews_total) = db::reviews::page(conn, row.id, &first).await?;
    let rating = reviews::rating(conn, row.id).await?;
    let card = cards(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(product_missing)?;
    Ok(ProductPage {
        card,
        images,
        reviews,
        reviews_total,
        rating,
    })
}

/// The page of a product clients may see (404 otherwise).
pub async fn page(state: &AppState, id: ProductId) -> Result<ProductPage, Problem> {
    let mut conn = state.db().await?;
    let row = listed(&mut conn, id).await?;
    page_of(&mut conn, row).await
}

/// The page of any product that is not deleted (admins see inactive ones too).
pub async fn page_for_admin(state: &AppState, id: ProductId) -> Result<ProductPage, Problem> {
    let mut conn = state.db().await?;
    let row = db::products::find(&mut conn, id)
        .await?
        .ok_or_else(product_missing)?;
    page_of(&mut conn, row).await
}

/// Creates a product with `initial_stock` on hand; answers its admin page.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    changes: ProductChanges,
    initial_stock: i32,
) -> Result<ProductPage, Problem> {
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
                db::inventory::record(
                    conn,
                    NewHistory {
                        product_id: row.id,
                        kind: HistoryKind::Created,
                        change: initial_stock,
                        quantity_after: initial_stock,
                        reason: "initial stock",
                        actor_id: Some(UserId::from(actor.id)),
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
                Subject::Product(row.id),
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
    page_of(&mut conn, row).await
}

/// Replaces every field of a product but its stock; answers its admin page.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    mut changes: ProductChanges,
) -> Result<ProductPage, Problem> {
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
            events::audit(
                conn,
                actor,
                "product.updated",
                Subject::Product(id),
                json!({ "name": row.name }),
            )
            .await?;
            // The product's category now, and the one it left.
            let mut touched = db::categories::of_products(conn, &[id]).await?;
            if before.category_id != category.id
                && let Some(old) = db::categories::find(conn, before.category_id).await?
            {
                touched.push((old.id, old.slug));
            }
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    page_of(&mut conn, row).await
}

/// Whether a product is on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// On sale (listed, if its category is active).
    Active,
    /// Off sale: hidden from clients, kept for admins.
    Inactive,
}

/// Puts a product on sale or takes it off; answers its admin page.
pub async fn set_listing(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    listing: Listing,
) -> Result<ProductPage, Problem> {
    let row = change_listing(state, actor, id, listing).await?;
    let mut conn = state.db().await?;
    page_of(&mut conn, row).await
}

async fn change_listing(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    listing: Listing,
) -> Result<ProductRow, Problem> {
    let mut conn = state.db().await?;
    let (row, touched) = conn
        .transaction(async |conn| {
            db::products::lock(conn, id)
                .await?
                .ok_or_else(product_missing)?;
            let row = db::products::set_active(conn, id, listing == Listing::Active).await?;
            events::product_upserted(conn, &row, state.public_url()).await?;
            let action = match listing {
                Listing::Active => "product.activated",
                Listing::Inactive => "product.deactivated",
            };
            events::audit(conn, actor, action, Subject::Product(id), json!({})).await?;
            let touched = db::categories::of_products(conn, &[id]).await?;
            Ok::<_, Problem>((row, touched))
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(row)
}

/// What `DELETE /api/admin/products/{id}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Take it off sale ([`Listing::Inactive`]); it can come back.
    Deactivate,
    /// Delete it for good (kept for history, gone for clients and admins).
    Permanent,
}

/// Deactivates or deletes a product. Deleting is refused (409) while open orders hold stock
/// of it.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    removal: Removal,
) -> Result<(), Problem> {
    if removal == Removal::Deactivate {
        change_listing(state, actor, id, Listing::Inactive).await?;
        return Ok(());
    }
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
            events::audit(
                conn,
                actor,
                "product.deleted",
                Subject::Product(id),
                json!({ "name": row.name }),
            )
            .await?;
            Ok::<_, Problem>(touched)
        })
        .await?;
    state.cache.invalidate(&cache::scopes_for(&touched)).await;
    Ok(())
}
