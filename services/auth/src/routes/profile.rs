//! `/api/users/profile`: the signed-in user's own account. Changing the email (what signs
//! in, and where reset links go) takes the current password and ends every other session.

use crate::accounts::UserView;
use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::{ProfileChanges, UserRow};
use crate::events;
use crate::routes::auth::email_taken;
use crate::sessions::{self, TokenPair};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::AuthUser;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::input::Validation;
use domain::{Code, Email, FieldError, FullName, PhoneNumber, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
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
    /// The account's password; required when `email` changes, ignored otherwise.
    pub current_password: Option<String>,
}

/// The account after the change. When the email changed, every session was ended, this one
/// included, and `tokens` is a new pair for the client that made the change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileResponse {
    #[serde(flatten)]
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenPair>,
}

/// The parsed changes asked for.
struct Requested {
    full_name: Option<FullName>,
    email: Option<Email>,
    phone: Option<PhoneNumber>,
}

impl TryFrom<&UpdateProfileRequest> for Requested {
    type Error = Problem;

    fn try_from(req: &UpdateProfileRequest) -> Result<Self, Problem> {
        let mut v = Validation::new();
        let full_name = req
            .full_name
            .as_deref()
            .map(|s| v.check("fullName", FullName::parse(s)));
        let email = req
            .email
            .as_deref()
            .map(|s| v.check("email", Email::parse(s)));
        let phone = req
            .phone
            .as_deref()
            .map(|s| v.check("phone", PhoneNumber::parse(s)));
        v.finish(|| {
            Some(Self {
                full_name: full_name.flatten(),
                email: email.flatten(),
                phone: phone.flatten(),
            })
        })
    }
}

impl Requested {
    /// Whether this asks for another email than `user` has.
    fn changes_email(&self, user: &UserRow) -> bool {
        self.email
            .as_ref()
            .is_some_and(|e| e.as_str() != user.email)
    }
}

/// Change your name, email or phone. The email must not belong to another account, and
/// changing it takes `currentPassword`: then every session of the account ends (a new token
/// pair is answered for this client) and the previous address is told (`user.email_changed`).
#[utoipa::path(put, path = "/api/users/profile", tag = "users", request_body = UpdateProfileRequest,
    responses((status = 200, body = UpdateProfileResponse),
        (status = 400, description = "VALIDATION_FAILED (`currentPassword` missing for an email change)", body = domain::ProblemBody),
        (status = 401, description = "INVALID_CREDENTIALS (wrong `currentPassword`)", body = domain::ProblemBody),
        (status = 409, description = "EMAIL_TAKEN", body = domain::ProblemBody),
        (status = 429, description = "RATE_LIMITED (five wrong `currentPassword`s in 15 minutes)", body = domain::ProblemBody),
        (status = 503, description = "SERVICE_UNAVAILABLE (every password check busy; see `Retry-After`)", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    client: ClientInfo,
    body: web::Json<UpdateProfileRequest>,
) -> Result<HttpResponse, Problem> {
    let requested = Requested::try_from(&*body)?;
    let claims = user.claims().clone();
    let current = db::users::find(&mut *state.db().await?, claims.sub)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    // A stolen access token alone must not be enough to take the account over through its
    // email (and then its reset links): the password is asked for again. An address that is
    // taken is refused first, without asking (registration says as much to anyone).
    let confirmed_hash = match &requested.email {
        Some(email) if requested.changes_email(&current) => {
            if db::users::find_by_email(&mut *state.db().await?, email.as_str())
                .await?
                .is_some()
            {
                return Err(email_taken());
            }
            let given = body.current_password.as_deref();
            Some(confirm_password(&state, &current, given, &client).await?)
        }
        _ => None,
    };

    let mut conn = state.db().await?;
    let state = &state;
    let outcome = conn
        .transaction(async |conn| {
            let before = db::users::lock(conn, claims.sub)
                .await?
                .ok_or_else(|| Problem::not_found("No such user."))?;
            let email_changes = requested.changes_email(&before);
            // The password checked above must still be the account's (a reset may have come
            // between), and an email change must have been confirmed at all.
            if email_changes && confirmed_hash.as_deref() != Some(before.password_hash.as_str()) {
                return Err(wrong_password());
            }
            let changes = ProfileChanges {
                full_name: requested
                    .full_name
                    .as_ref()
                    .map(FullName::as_str)
                    .filter(|n| *n != before.full_name),
                email: requested
                    .email
                    .as_ref()
                    .map(Email::as_str)
                    .filter(|_| email_changes),
                phone: requested
                    .phone
                    .as_ref()
                    .map(PhoneNumber::as_e164)
                    .filter(|p| *p != before.phone),
            };
            let mut changed = Vec::new();
            let fields = [
                ("fullName", changes.full_name),
                ("email", changes.email),
                ("phone", changes.phone),
            ];
            for (field, value) in fields {
                if value.is_some() {
                    changed.push(field.to_owned());
                }
            }
            if changed.is_empty() {
                let user = UserView::from(&before);
                return Ok::<_, Problem>(UpdateProfileResponse { user, tokens: None });
            }
            let after = db::users::update_profile(conn, claims.sub, &changes)
                .await
                .map_err(|err| {
                    if db::is_unique_violation(&err) {
                        email_taken()
                    } else {
                        Problem::from(err)
                    }
                })?;
            let actor = Actor::new(claims.sub, claims.role, client.clone());
            let details = json!({
                "changed": changed,
                "before": {
                    "fullName": before.full_name, "email": before.email, "phone": before.phone,
                },
            });
            let subject = Some(claims.sub.to_string());
            audit::record(
                conn,
                &actor,
                "user.profile_updated",
                "user",
                subject,
                details,
            )
            .await?;
            events::profile_updated(conn, &after, changed, claims.sub).await?;
            let tokens = if email_changes {
                Some(end_sessions(conn, state, &before, &after, &client).await?)
            } else {
                None
            };
            Ok(UpdateProfileResponse {
                user: UserView::from(&after),
                tokens,
            })
        })
        .await?;
    if outcome.tokens.is_some() {
        // The update raised the token version (migration `token_version`); this tells the
        // services, so access tokens issued before it stop working now, not at their expiry.
        sessions::void_access_tokens(state, claims.sub).await?;
    }
    Ok(HttpResponse::Ok().json(outcome))
}

/// Checks `given` against the account's password and answers the hash it matched. A missing
/// password is a 400 naming the field; a wrong one a 401, audited like a failed login.
async fn confirm_password(
    state: &AppState,
    user: &UserRow,
    given: Option<&str>,
    client: &ClientInfo,
) -> Result<String, Problem> {
    let Some(given) = given.filter(|p| !p.is_empty()) else {
        return Err(Problem::validation(vec![FieldError::new(
            "currentPassword",
            "is required to change the email",
        )]));
    };
    crate::reset_limit::reauth_allowed(state, user.id).await?;
    if state
        .passwords
        .verify(given, Some(user.password_hash.clone()))
        .await?
    {
        return Ok(user.password_hash.clone());
    }
    crate::reset_limit::reauth_failed(state, user.id).await;
    let mut conn = state.db().await?;
    let actor = Actor::new(user.id, user.role, client.clone());
    let details = json!({ "purpose": "email_change" });
    audit::record(
        &mut conn,
        &actor,
        "auth.reauthentication_failed",
        "user",
        Some(user.id.to_string()),
        details,
    )
    .await?;
    Err(wrong_password())
}

fn wrong_password() -> Problem {
    Problem::new(Code::InvalidCredentials).with_detail("The current password is incorrect.")
}

/// After an email change: ends every session of the account (its refresh-token families; its
/// access tokens fall below the raised token version), tells the previous address, and signs
/// the caller in again on a new session.
async fn end_sessions(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    before: &UserRow,
    after: &UserRow,
    client: &ClientInfo,
) -> Result<TokenPair, Problem> {
    db::sessions::revoke_all_for_user(conn, after.id).await?;
    events::email_changed(conn, after, &before.email, client.ip.as_deref()).await?;
    sessions::issue(conn, state, after, None).await
}
