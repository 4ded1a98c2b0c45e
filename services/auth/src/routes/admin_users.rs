//! `/api/admin/users*`: find users, grant roles, suspend and reactivate.

use crate::db;
use crate::db::users::{AccountStatus, UserFilter};
use crate::routes::check_filter;
use crate::routes::profile::UserView;
use crate::state::AppState;
use crate::users;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use domain::input::{BoundedText, Validation};
use domain::{Page, Pagination, PaginationQuery, Problem, Role, UserId};
use platform::client::Acting;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The filters of the list (`limit` and `offset` are [`PaginationQuery`]'s). Taken as strings
/// and parsed here, so a bad value is answered naming its field.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of the email or the name, any case; at most 200 characters.
    #[param(max_length = 200)]
    pub search: Option<String>,
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    #[param(value_type = Option<AccountStatus>)]
    pub status: Option<String>,
}

impl UserQuery {
    fn parse(self) -> Result<UserFilter, Problem> {
        let mut v = Validation::new();
        let role = self
            .role
            .as_deref()
            .and_then(|r| v.check("role", r.parse::<Role>()));
        let status = self.status.as_deref().and_then(|s| {
            let parsed = s.parse::<AccountStatus>().ok();
            if parsed.is_none() {
                v.add("status", "must be active or suspended");
            }
            parsed
        });
        let search = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        check_filter(&mut v, "search", search);
        let search = search.map(str::to_owned);
        v.finish(|| {
            Some(UserFilter {
                search,
                role,
                status,
            })
        })
    }
}

/// Find users, newest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(UserQuery, PaginationQuery),
    responses((status = 200, description = "A page of users", body = Page<UserView>)),
    security(("bearer" = [])))]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    page: Pagination,
    query: web::Query<UserQuery>,
) -> Result<web::Json<Page<UserView>>, Problem> {
    let filter = query.into_inner().parse()?;
    let mut conn = state.db().await?;
    let (rows, total) = db::users::search(&mut conn, &filter, &page).await?;
    let views = rows.iter().map(UserView::from).collect();
    Ok(web::Json(Page::new(views, total, page)))
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    responses((status = 200, description = "The user", body = UserView),
        (status = 404, description = "`NOT_FOUND`: no such user")),
    security(("bearer" = [])))]
pub async fn get_user(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<UserId>,
) -> Result<web::Json<UserView>, Problem> {
    let row = users::find(&state, *id).await?;
    Ok(web::Json(UserView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
}

/// Give a user another role. Admins cannot change their own role.
#[utoipa::path(put, path = "/api/admin/users/{id}/role", tag = "admin", request_body = ChangeRoleRequest,
    params(("id" = UserId, Path, description = "The user")),
    responses((status = 200, description = "The user with the role", body = UserView),
        (status = 404, description = "`NOT_FOUND`: no such user"),
        (status = 409, description = "`CONFLICT`: admins cannot change their own role")),
    security(("bearer" = [])))]
pub async fn change_role(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<UserId>,
    body: web::Json<ChangeRoleRequest>,
) -> Result<web::Json<UserView>, Problem> {
    let mut v = Validation::new();
    let role = v.required("role", body.role.as_deref(), |s| s.parse::<Role>());
    let role = v.finish(|| role)?;
    let row = users::change_role(&state, &admin, *id, role).await?;
    Ok(web::Json(UserView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendRequest {
    /// Why; kept in the audit log. 3 to 500 characters.
    pub reason: Option<String>,
}

/// Suspend a user: they cannot sign in, and every session ends now.
#[utoipa::path(post, path = "/api/admin/users/{id}/suspend", tag = "admin", request_body = SuspendRequest,
    params(("id" = UserId, Path, description = "The user")),
    responses((status = 200, description = "The user, suspended", body = UserView),
        (status = 404, description = "`NOT_FOUND`: no such user"),
        (status = 409, description = "`CONFLICT`: admins cannot suspend themselves")),
    security(("bearer" = [])))]
pub async fn suspend_user(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<UserId>,
    body: web::Json<SuspendRequest>,
) -> Result<web::Json<UserView>, Problem> {
    let mut v = Validation::new();
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 500>::parse,
    );
    let reason = v.finish(|| reason)?;
    let row = users::suspend(&state, &admin, *id, reason.as_str()).await?;
    Ok(web::Json(UserView::from(&row)))
}

/// Let a suspended user back in.
#[utoipa::path(post, path = "/api/admin/users/{id}/reactivate", tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    responses((status = 200, description = "The user, active", body = UserView),
        (status = 404, description = "`NOT_FOUND`: no such user")),
    security(("bearer" = [])))]
pub async fn reactivate_user(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<UserId>,
) -> Result<web::Json<UserView>, Problem> {
    let row = users::reactivate(&state, &admin, *id).await?;
    Ok(web::Json(UserView::from(&row)))
}
