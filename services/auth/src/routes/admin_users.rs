//! `/api/admin/users*`: find users, grant roles, suspend and reactivate.

use crate::accounts::UserView;
use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::{UserFilter, UserRow};
use crate::events;
use crate::sessions;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::input::{BoundedText, Validation};
use domain::{Code, Pagination, PaginationQuery, Problem, Role};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserQuery {
    /// Part of the email or the name.
    pub search: Option<String>,
    /// `customer`, `driver`, `agent` or `admin`.
    pub role: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<UserView>,
    pub total: i64,
    pub has_more: bool,
}

/// Find users, newest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(UserQuery),
    responses((status = 200, body = UserList), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let page = Pagination::from_query(PaginationQuery {
        limit: query.limit,
        offset: query.offset,
    })?;
    let mut v = Validation::new();
    let role = query
        .role
        .as_deref()
        .map(|r| v.check("role", r.parse::<Role>()));
    if let Some(status) = &query.status
        && !["active", "suspended"].contains(&status.as_str())
    {
        v.add("status", "must be active or suspended");
    }
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    crate::routes::auth::check_filter(&mut v, "search", search);
    let role = v.finish(|| Some(role.flatten()))?;
    let filter = UserFilter {
        search: search.map(str::to_owned),
        role,
        status: query.status,
    };
    let mut conn = state.db().await?;
    let (rows, total) = db::users::search(&mut conn, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(UserList {
        users: rows.iter().map(UserView::from).collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
    }))
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin",
    responses((status = 200, body = UserView), (status = 404, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn get_user(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let row = db::users::find(&mut conn, *id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    /// `customer`, `driver`, `agent` or `admin`.
    pub role: Option<String>,
}

/// Give a user another role. Admins cannot change their own role.
#[utoipa::path(put, path = "/api/admin/users/{id}/role", tag = "admin", request_body = ChangeRoleRequest,
    responses((status = 200, body = UserView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn change_role(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<ChangeRoleRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let role = v.required("role", body.role.as_deref(), |s| s.parse::<Role>());
    let role = v.finish(|| role)?;
    let target = *id;
    refuse_self(&admin, target)?;
    let actor = Actor::new(admin.sub, admin.role, client);
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async |conn| {
            let before = locked(conn, target).await?;
            if before.role == role {
                return Ok::<_, Problem>(before);
            }
            let after = db::users::set_role(conn, target, role).await?;
            let details = json!({ "from": before.role, "to": role });
            audit::record(
                conn,
                &actor,
                "user.role_changed",
                "user",
                Some(target.to_string()),
                details,
            )
            .await?;
            events::role_changed(conn, &after, before.role, actor.id.unwrap_or_default()).await?;
            Ok(after)
        })
        .await?;
    // Tokens carry the role: the old ones must not keep the old rights for 15 minutes.
    sessions::void_access_tokens(&state, target).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendRequest {
    /// Why; kept in the audit log.
    pub reason: Option<String>,
}

/// Suspend a user: they cannot sign in, and every session ends now.
#[utoipa::path(post, path = "/api/admin/users/{id}/suspend", tag = "admin", request_body = SuspendRequest,
    responses((status = 200, body = UserView), (status = 400, body = domain::ProblemBody),
        (status = 404, body = domain::ProblemBody), (status = 409, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn suspend_user(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<SuspendRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 500>::parse,
    );
    let reason = v.finish(|| reason)?.into_inner();
    refuse_self(&admin, *id)?;
    let row = set_status(&state, &admin, client, *id, "suspended", Some(reason)).await?;
    sessions::void_access_tokens(&state, row.id).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}

/// Let a suspended user back in.
#[utoipa::path(post, path = "/api/admin/users/{id}/reactivate", tag = "admin",
    responses((status = 200, body = UserView), (status = 404, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn reactivate_user(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let row = set_status(&state, &admin, client, *id, "active", None).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}

fn refuse_self(admin: &Authenticated<Admin>, target: Uuid) -> Result<(), Problem> {
    if admin.sub == target {
        return Err(Problem::new(Code::Conflict)
            .with_detail("Admins cannot change their own role or status."));
    }
    Ok(())
}

async fn locked(conn: &mut AsyncPgConnection, id: Uuid) -> Result<UserRow, Problem> {
    db::users::lock(conn, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))
}

async fn set_status(
    state: &AppState,
    admin: &Authenticated<Admin>,
    client: ClientInfo,
    target: Uuid,
    status: &'static str,
    reason: Option<String>,
) -> Result<UserRow, Problem> {
    let actor = Actor::new(admin.sub, admin.role, client);
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let before = locked(conn, target).await?;
        if before.status == status {
            return Ok::<_, Problem>(before);
        }
        let after = db::users::set_status(conn, target, status).await?;
        if status == "suspended" {
            db::sessions::revoke_all_for_user(conn, target).await?;
        }
        let action = if status == "suspended" {
            "user.suspended"
        } else {
            "user.reactivated"
        };
        audit::record(
            conn,
            &actor,
            action,
            "user",
            Some(target.to_string()),
            json!({ "reason": reason }),
        )
        .await?;
        events::status_changed(
            conn,
            &after,
            &before.status,
            reason.as_deref(),
            actor.id.unwrap_or_default(),
        )
        .await?;
        Ok(after)
    })
    .await
}
