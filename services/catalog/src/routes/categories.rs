//! `GET /api/categories`: the menu's categories.

use crate::db;
use crate::state::AppState;
use crate::views::CategoryView;
use actix_web::{HttpResponse, web};
use domain::Problem;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    pub categories: Vec<CategoryView>,
}

/// Active categories in menu order.
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    responses((status = 200, body = CategoryList)))]
pub async fn list_categories(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let rows = db::categories::list(&mut conn, false).await?;
    Ok(HttpResponse::Ok().json(CategoryList {
        categories: rows.iter().map(CategoryView::from).collect(),
    }))
}
