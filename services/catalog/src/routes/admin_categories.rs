//! `/api/admin/categories*`: every category, and creating, renaming, reordering and
//! (de)activating them.

use crate::categories;
use crate::db::categories::{CategoryChanges, Which};
use crate::product_rules::{parse_slug, slugify};
use crate::routes::categories::CategoryView;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use domain::input::{BoundedText, FreeText, Validation};
use domain::{CategoryId, Page, Problem};
use platform::api::Created;
use platform::client::Acting;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRequest {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// Lowercase letters, digits and dashes; made from the name when left out.
    pub slug: Option<String>,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub sort_order: Option<i32>,
    /// Inactive categories and their products are hidden from clients.
    pub is_active: Option<bool>,
}

impl CategoryRequest {
    fn parse(&self) -> Result<CategoryChanges, Problem> {
        let mut v = Validation::new();
        let name = v.required("name", self.name.as_deref(), BoundedText::<1, 100>::parse);
        let slug = match (&self.slug, &name) {
            (Some(slug), _) => v.check("slug", parse_slug(slug.trim())),
            (None, Some(name)) => v.check("slug", parse_slug(&slugify(name.as_str()))),
            (None, None) => None,
        };
        let icon = self
            .icon
            .as_deref()
            .and_then(|icon| v.check("icon", BoundedText::<1, 50>::parse(icon)));
        let description = self
            .description
            .as_deref()
            .and_then(|text| v.check("description", FreeText::<2000>::parse(text)));
        v.finish(|| {
            Some(CategoryChanges {
                name: name?.into_inner(),
                slug: slug?,
                icon: icon.map(BoundedText::into_inner),
                description: description
                    .map(FreeText::into_inner)
                    .filter(|d| !d.is_empty()),
                sort_order: self.sort_order.unwrap_or(0),
                is_active: self.is_active.unwrap_or(true),
            })
        })
    }
}

/// Every category, inactive ones included.
#[utoipa::path(get, path = "/api/admin/categories", tag = "admin",
    responses((status = 200, description = "Every category in menu order (one page)", body = Page<CategoryView>)),
    security(("bearer" = [])))]
pub async fn list_all_categories(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
) -> Result<web::Json<Page<CategoryView>>, Problem> {
    let rows = categories::list(&state, Which::All).await?;
    Ok(web::Json(Page::all(
        rows.iter().map(CategoryView::from).collect(),
    )))
}

/// Create a category.
#[utoipa::path(post, path = "/api/admin/categories", tag = "admin", request_body = CategoryRequest,
    responses((status = 201, description = "Created", body = CategoryView),
        (status = 409, description = "`CONFLICT`: a category with this slug exists")),
    security(("bearer" = [])))]
pub async fn create_category(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    body: web::Json<CategoryRequest>,
) -> Result<Created<CategoryView>, Problem> {
    let changes = body.parse()?;
    let row = categories::create(&state, &admin, changes).await?;
    Ok(Created::new(CategoryView::from(&row)))
}

/// Replace a category (every field; `isActive: false` hides it and its products).
#[utoipa::path(put, path = "/api/admin/categories/{id}", tag = "admin", request_body = CategoryRequest,
    params(("id" = CategoryId, Path, description = "The category")),
    responses((status = 200, description = "The category as it is now", body = CategoryView),
        (status = 404, description = "`NOT_FOUND`: no such category"),
        (status = 409, description = "`CONFLICT`: another category has this slug")),
    security(("bearer" = [])))]
pub async fn update_category(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<CategoryId>,
    body: web::Json<CategoryRequest>,
) -> Result<web::Json<CategoryView>, Problem> {
    let changes = body.parse()?;
    let row = categories::update(&state, &admin, *id, changes).await?;
    Ok(web::Json(CategoryView::from(&row)))
}
