//! `GET /api/categories`: the menu's categories; their view, which admins see too.

use crate::categories;
use crate::db::categories::{CategoryRow, Which};
use crate::state::AppState;
use actix_web::web;
use domain::{CategoryId, Listed, Page, Problem};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub sort_order: i32,
    pub is_active: bool,
}

impl Listed for CategoryView {
    const KEY: &'static str = "categories";
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

/// Active categories in menu order.
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    responses((status = 200, description = "Every active category (a short list, so one page)", body = Page<CategoryView>)))]
pub async fn list_categories(
    state: web::Data<AppState>,
) -> Result<web::Json<Page<CategoryView>>, Problem> {
    let rows = categories::list(&state, Which::Active).await?;
    Ok(web::Json(Page::all(
        rows.iter().map(CategoryView::from).collect(),
    )))
}
