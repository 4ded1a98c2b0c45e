//! `/api/users/profile`: the signed-in user's own account.

use crate::accounts::UserView;
use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::ProfileChanges;
use crate::events;
use crate::routes::auth::email_taken;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::AuthUser;
use diesel_async::AsyncConnection;
use domain::input::Validation;
use domain::{Email, FullName, PhoneNumber, Problem};
use platform::client::ClientInfo;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// Your account.
#[utoipa::path(get, path = "/api/users/profile", tag = "users",
    responses((status = 200, body = UserView), (status = 401, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn get_profile(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let row = db::users::find(&mut conn, user.sub)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateProfileRequest {
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Change your name, email or phone. The email must not belong to another account.
#[utoipa::path(put, path = "/api/users/profile", tag = "users", request_body = UpdateProfileRequest,
    responses((status = 200, body = UserView), (status = 400, body = domain::ProblemBody),
        (status = 409, description = "EMAIL_TAKEN", body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    client: ClientInfo,
    body: web::Json<UpdateProfileRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let full_name = body
        .full_name
        .as_deref()
        .map(|s| v.check("fullName", FullName::parse(s)));
    let email = body
        .email
        .as_deref()
        .map(|s| v.check("email", Email::parse(s)));
    let phone = body
        .phone
        .as_deref()
        .map(|s| v.check("phone", PhoneNumber::parse(s)));
    let (full_name, email, phone) =
        v.finish(|| Some((full_name.flatten(), email.flatten(), phone.flatten())))?;

    let mut conn = state.db().await?;
    let claims = user.claims().clone();
    let row = conn
        .transaction(async |conn| {
            let before = db::users::lock(conn, claims.sub)
                .await?
                .ok_or_else(|| Problem::not_found("No such user."))?;
            let changes = ProfileChanges {
                full_name: full_name.as_ref().map(FullName::as_str).filter(|n| *n != before.full_name),
                email: email.as_ref().map(Email::as_str).filter(|e| *e != before.email),
                phone: phone.as_ref().map(PhoneNumber::as_e164).filter(|p| *p != before.phone),
            };
            let mut changed = Vec::new();
            for (field, value) in [("fullName", changes.full_name), ("email", changes.email), ("phone", changes.phone)] {
                if value.is_some() {
                    changed.push(field.to_owned());
                }
            }
            if changed.is_empty() {
                return Ok::<_, Problem>(before);
            }
            let after = db::users::update_profile(conn, claims.sub, &changes).await.map_err(|err| {
                if db::is_unique_violation(&err) { email_taken() } else { Problem::from(err) }
            })?;
            let actor = Actor::new(claims.sub, claims.role, client.clone());
            let details = json!({
                "changed": changed,
                "before": { "fullName": before.full_name, "email": before.email, "phone": before.phone },
            });
            audit::record(conn, &actor, "user.profile_updated", "user", Some(claims.sub.to_string()), details)
                .await?;
            events::profile_updated(conn, &after, changed, claims.sub).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserView::from(&row)))
}
