//! `/api/admin/categories*`: create, rename, reorder and (de)activate categories.

use crate::changes;
use crate::db;
use crate::db::categories::CategoryChanges;
use crate::products::parse_slug;
use crate::routes::actor;
use crate::routes::categories::CategoryList;
use crate::state::AppState;
use crate::views::CategoryView;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use domain::Problem;
use domain::input::{BoundedText, FreeText, Validation};
use platform::client::ClientInfo;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRequest {
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
            (None, Some(name)) => {
                v.check("slug", parse_slug(&crate::products::slugify(name.as_str())))
            }
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
    responses((status = 200, body = CategoryList), (status = 403, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn list_all_categories(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let rows = db::categories::list(&mut conn, true).await?;
    Ok(HttpResponse::Ok().json(CategoryList {
        categories: rows.iter().map(CategoryView::from).collect(),
    }))
}

/// Create a category.
#[utoipa::path(post, path = "/api/admin/categories", tag = "admin", request_body = CategoryRequest,
    responses((status = 201, body = CategoryView), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn create_category(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    body: web::Json<CategoryRequest>,
) -> Result<HttpResponse, Problem> {
    let changes = body.parse()?;
    let row = changes::create_category(&state, &actor(&admin, client), changes).await?;
    Ok(HttpResponse::Created().json(CategoryView::from(&row)))
}

/// Replace a category (every field; `isActive: false` hides it and its products).
#[utoipa::path(put, path = "/api/admin/categories/{id}", tag = "admin", request_body = CategoryRequest,
    responses((status = 200, body = CategoryView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn update_category(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<CategoryRequest>,
) -> Result<HttpResponse, Problem> {
    let changes = body.parse()?;
    let row = changes::update_category(&state, &actor(&admin, client), *id, changes).await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(&row)))
}
