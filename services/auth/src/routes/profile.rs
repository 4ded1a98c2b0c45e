//! `/api/users/profile`: the signed-in user's own account, and [`UserView`], a user as the
//! API shows them (here, in sessions and to admins).

use crate::db::users::{AccountStatus, IdStatus, UserRow};
use crate::profile::{self, ProfileUpdate};
use crate::sessions::TokenPair;
use crate::state::AppState;
use actix_web::web;
use auth_token::AuthUser;
use chrono::{DateTime, NaiveDate, Utc};
use domain::input::Validation;
use domain::{Email, FullName, Listed, PhoneNumber, Problem, Role, UserId};
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    /// E.164, e.g. `+15125550134`.
    pub phone: String,
    pub date_of_birth: NaiveDate,
    pub role: Role,
    pub id_verification_status: IdStatus,
    /// Whether the ID is verified (`idVerificationStatus` is `approved`), as the guide's
    /// clients read it.
    pub id_verified: bool,
    pub status: AccountStatus,
    /// The same as `status`, under the guide's name.
    pub account_status: AccountStatus,
    /// FS Coins (100 = $1.00), as payments' ledger last announced them; 0 before any.
    #[schema(minimum = 0)]
    pub rewards_balance: i64,
    /// The latest successful login (this one, in a login's answer); `null` before the first.
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Listed for UserView {
    const KEY: &'static str = "users";
}

impl From<&UserRow> for UserView {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email.clone(),
            full_name: row.full_name.clone(),
            phone: row.phone.clone(),
            date_of_birth: row.date_of_birth,
            role: row.role,
            id_verification_status: row.id_status,
            id_verified: row.id_verified(),
            status: row.status,
            account_status: row.status,
            rewards_balance: row.rewards_balance,
            last_login_at: row.last_login_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Your account.
#[utoipa::path(get, path = "/api/users/profile", tag = "users",
    responses((status = 200, description = "Your account", body = UserView),
        (status = 404, description = "`NOT_FOUND`: the account no longer exists")),
    security(("bearer" = [])))]
pub async fn get_profile(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<UserView>, Problem> {
    let row = profile::find(&state, user.user_id()).await?;
    Ok(web::Json(UserView::from(&row)))
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

impl TryFrom<&UpdateProfileRequest> for ProfileUpdate {
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

/// Change your name, email or phone. The email must not belong to another account, and
/// changing it takes `currentPassword`: then every session of the account ends (a new token
/// pair is answered for this client) and the previous address is told (`user.email_changed`).
#[utoipa::path(put, path = "/api/users/profile", tag = "users", request_body = UpdateProfileRequest,
    responses((status = 200, description = "Your account after the change", body = UpdateProfileResponse),
        (status = 400, description = "`VALIDATION_FAILED` (see `errors`; `currentPassword` is required for an email change), or `MALFORMED_JSON` (an unknown field)"),
        (status = 401, description = "`INVALID_CREDENTIALS`: a wrong `currentPassword` (or the token's own check)"),
        (status = 404, description = "`NOT_FOUND`: the account no longer exists"),
        (status = 409, description = "`EMAIL_TAKEN`: another account has the email"),
        (status = 429, description = "`RATE_LIMITED`: five wrong `currentPassword`s in 15 minutes; wait `Retry-After` seconds"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: every password check is busy; retry after `Retry-After`")),
    security(("bearer" = [])))]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: Acting,
    body: web::Json<UpdateProfileRequest>,
) -> Result<web::Json<UpdateProfileResponse>, Problem> {
    let update = ProfileUpdate::try_from(&*body)?;
    let current_password = body.current_password.as_deref();
    let updated = profile::update(&state, &user, &update, current_password).await?;
    Ok(web::Json(UpdateProfileResponse {
        user: UserView::from(&updated.user),
        tokens: updated.tokens,
    }))
}
