//! Categories: the menu clients see, and admins' changes to it (create, rename, reorder,
//! (de)activate). A change that clients of its products would see (name, slug, active)
//! announces every product of the category again; each change is audited and drops the
//! category's cached pages once it committed.

use crate::cache;
use crate::db;
use crate::db::categories::{CategoryChanges, CategoryRow, Which};
use crate::events::{self, Subject};
use crate::state::AppState;
use ::events::audit::Actor;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{CategoryId, Problem};
use serde_json::json;

fn category_missing() -> Problem {
    Problem::not_found("No such category.")
}

fn slug_taken() -> Problem {
    Problem::conflict("A category with this slug exists.")
}

/// Categories in menu order.
pub async fn list(state: &AppState, which: Which) -> Result<Vec<CategoryRow>, Problem> {
    let mut conn = state.db().await?;
    Ok(db::categories::list(&mut conn, which).await?)
}

/// Announces every product of a category again (its name, slug or state changed).
async fn reannounce(
    conn: &mut AsyncPgConnection,
    category_id: CategoryId,
    public_url: &str,
) -> Result<(), Problem> {
    for row in db::products::touch_category(conn, category_id).await? {
        events::product_upserted(conn, &row, public_url).await?;
    }
    Ok(())
}

/// Creates a category (409 when its slug is taken).
pub async fn create(
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
                return Err(slug_taken());
            }
            let row = db::categories::insert(conn, &changes).await?;
            events::audit(
                conn,
                actor,
                "category.created",
                Subject::Category(row.id),
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

/// Replaces a category (404 unknown, 409 when the new slug is another's).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: CategoryId,
    changes: CategoryChanges,
) -> Result<CategoryRow, Problem> {
    let mut conn = state.db().await?;
    let (before, after) = conn
        .transaction(async |conn| {
            let before = db::categories::find(conn, id)
                .await?
                .ok_or_else(category_missing)?;
            if before.slug != changes.slug
                && db::categories::find_by_slug(conn, &changes.slug)
                    .await?
                    .is_some()
            {
                return Err(slug_taken());
            }
            let after = db::categories::update(conn, id, &changes)
                .await?
                .ok_or_else(category_missing)?;
            let announced = before.name != after.name
                || before.slug != after.slug
                || before.is_active != after.is_active;
            if announced {
                reannounce(conn, id, state.public_url()).await?;
            }
            events::audit(
                conn,
                actor,
                "category.updated",
                Subject::Category(id),
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
