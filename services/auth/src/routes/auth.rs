//! `/api/auth/*`: register, login, refresh, logout, forgot and reset password.

use crate::accounts::{self, UserView};
use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::NewUser;
use crate::events;
use crate::reset_limit;
use crate::secrets;
use crate::sessions::{self, Refreshed, TokenPair};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::AuthUser;
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::input::Validation;
use domain::{Code, DateOfBirth, Email, FullName, Password, PhoneNumber, Problem, Role};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// The body of `POST /api/auth/register`, as sent; parsed into [`NewAccount`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// 2 to 100 characters.
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// 8+ characters with an upper-case letter, a lower-case letter, a digit and one of `!@#$%^&*`.
    pub password: Option<String>,
    /// A US number, e.g. `(512) 555-0134`.
    pub phone: Option<String>,
    /// `YYYY-MM-DD`; the customer must be 21 or older.
    pub date_of_birth: Option<String>,
}

struct NewAccount {
    full_name: FullName,
    email: Email,
    password: Password,
    phone: PhoneNumber,
    date_of_birth: DateOfBirth,
}

/// Records an error when a free-text filter holds control characters (PostgreSQL refuses NUL,
/// and nothing legitimate contains them) or is longer than 200 characters.
pub(crate) fn check_filter(v: &mut Validation, field: &str, value: Option<&str>) {
    if let Some(value) = value {
        if value.chars().any(char::is_control) {
            v.add(field, "must not contain control characters");
        } else if value.chars().count() > 200 {
            v.add(field, "must be at most 200 characters");
        }
    }
}

impl TryFrom<&RegisterRequest> for NewAccount {
    type Error = Problem;

    fn try_from(req: &RegisterRequest) -> Result<Self, Problem> {
        let mut v = Validation::new();
        let full_name = v.required("fullName", req.full_name.as_deref(), FullName::parse);
        let email = v.required("email", req.email.as_deref(), Email::parse);
        let password = v.required("password", req.password.as_deref(), Password::parse);
        let phone = v.required("phone", req.phone.as_deref(), PhoneNumber::parse);
        let today = accounts::today();
        let date_of_birth = v.required("dateOfBirth", req.date_of_birth.as_deref(), |s| {
            DateOfBirth::parse_on(s, today)
        });
        v.finish(|| {
            Some(Self {
                full_name: full_name?,
                email: email?,
                password: password?,
                phone: phone?,
                date_of_birth: date_of_birth?,
            })
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

/// Create a customer account (21+) and sign in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = SessionResponse), (status = 400, body = domain::ProblemBody),
        (status = 409, description = "EMAIL_TAKEN", body = domain::ProblemBody),
        (status = 422, description = "UNDERAGE", body = domain::ProblemBody),
        (status = 503, description = "SERVICE_UNAVAILABLE: every password-hashing slot is busy; retry after `Retry-After`", body = domain::ProblemBody)))]
pub async fn register(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, Problem> {
    let account = NewAccount::try_from(&*body)?;
    if !accounts::old_enough(&account.date_of_birth, accounts::today()) {
        return Err(Problem::new(Code::Underage).with_detail(format!(
            "You must be {} or older to register.",
            accounts::MINIMUM_AGE
        )));
    }
    let password_hash = state.passwords.hash(&account.password).await?;
    let mut conn = state.db().await?;
    let state = &state;
    let result = conn
        .transaction(async |conn| {
            let new = NewUser {
                id: Uuid::now_v7(),
                email: account.email.as_str(),
                password_hash: &password_hash,
                full_name: account.full_name.as_str(),
                phone: account.phone.as_e164(),
                date_of_birth: account.date_of_birth.date(),
                role: Role::Customer,
            };
            // The unique index decides between two concurrent registrations of one email.
            let user = db::users::insert(conn, new).await.map_err(|err| {
                if db::is_unique_violation(&err) {
                    email_taken()
                } else {
                    Problem::from(err)
                }
            })?;
            let actor = Actor::new(user.id, user.role, client.clone());
            audit::record(
                conn,
                &actor,
                "user.registered",
                "user",
                Some(user.id.to_string()),
                json!({}),
            )
            .await?;
            events::registered(conn, &user).await?;
            let tokens = sessions::issue(conn, state, &user, None).await?;
            Ok::<_, Problem>(SessionResponse {
                user: UserView::from(&user),
                tokens,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(result))
}

pub(crate) fn email_taken() -> Problem {
    Problem::new(Code::EmailTaken).with_detail("An account with this email already exists.")
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse),
        (status = 401, description = "INVALID_CREDENTIALS", body = domain::ProblemBody),
        (status = 403, description = "ACCOUNT_SUSPENDED", body = domain::ProblemBody),
        (status = 503, description = "SERVICE_UNAVAILABLE: every password-hashing slot is busy; retry after `Retry-After`", body = domain::ProblemBody)))]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let email = v.required("email", body.email.as_deref(), |s| {
        Ok(s.trim().to_lowercase())
    });
    let password = v.required("password", body.password.as_deref(), |s| Ok(s.to_owned()));
    let (email, password) = v.finish(|| Some((email?, password?)))?;

    // Something that is not an email cannot have an account: it is looked up as nothing (no
    // query with unchecked text) and answered like an unknown email. The audit keeps a
    // bounded, printable rendering of what was typed.
    let parsed = Email::parse(&email).ok();
    let email: String = email
        .chars()
        .filter(|c| !c.is_control())
        .take(254)
        .collect();
    let user = match &parsed {
        Some(parsed) => db::users::find_by_email(&mut *state.db().await?, parsed.as_str()).await?,
        None => None,
    };
    // The connection went back to the pool before the hash, which may wait for a slot: a
    // burst of logins must not hold the pool too. An unknown email is checked against a dummy
    // hash: same answer, same time.
    let password_hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = state.passwords.verify(&password, password_hash).await?;
    let mut conn = state.db().await?;
    let state = &state;
    let outcome = conn
        .transaction(async |conn| {
            let Some(user) = user.filter(|_| matches) else {
                let actor = Actor::anonymous(client.clone());
                let details = json!({ "email": email });
                audit::record(conn, &actor, "auth.login_failed", "user", None, details).await?;
                return Ok::<_, Problem>(Err(Problem::new(Code::InvalidCredentials)
                    .with_detail("The email or password is incorrect.")));
            };
            let actor = Actor::new(user.id, user.role, client.clone());
            if user.is_suspended() {
                let subject = Some(user.id.to_string());
                audit::record(
                    conn,
                    &actor,
                    "auth.login_refused_suspended",
                    "user",
                    subject,
                    json!({}),
                )
                .await?;
                return Ok(Err(Problem::new(Code::AccountSuspended)
                    .with_detail("This account is suspended. Contact support.")));
            }
            audit::record(
                conn,
                &actor,
                "auth.login_succeeded",
                "user",
                Some(user.id.to_string()),
                json!({}),
            )
            .await?;
            let tokens = sessions::issue(conn, state, &user, None).await?;
            Ok(Ok(SessionResponse {
                user: UserView::from(&user),
                tokens,
            }))
        })
        .await?;
    // Failed attempts are committed (audited) before the refusal is answered.
    Ok(HttpResponse::Ok().json(outcome?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

fn refresh_token(body: &RefreshRequest) -> Result<String, Problem> {
    let mut v = Validation::new();
    let token = v.required("refreshToken", body.refresh_token.as_deref(), |s| {
        Ok(s.to_owned())
    });
    v.finish(|| token)
}

/// Exchange a refresh token for a new pair. Using a refresh token twice ends its session.
#[utoipa::path(post, path = "/api/auth/refresh-token", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = domain::ProblemBody)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, Problem> {
    let token = refresh_token(&body)?;
    let mut conn = state.db().await?;
    let state = &state;
    let outcome = conn
        .transaction(async |conn| sessions::refresh(conn, state, &token).await)
        .await?;
    match outcome {
        Refreshed::Rotated(tokens) => Ok(HttpResponse::Ok().json(tokens)),
        Refreshed::Reused | Refreshed::Invalid => Err(sessions::invalid_refresh()),
        Refreshed::Suspended => {
            Err(Problem::new(Code::AccountSuspended).with_detail("This account is suspended."))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    /// The session's refresh token; its whole family is revoked.
    pub refresh_token: Option<String>,
}

/// End this session: the refresh token's family is revoked and the access token denied.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204), (status = 401, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn logout(
    state: web::Data<AppState>,
    user: AuthUser,
    client: ClientInfo,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    // No body means "this access token only"; a body that is there must be right, or the
    // client would believe a session ended that did not.
    let refresh_token = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<LogoutRequest>(&body)
            .map_err(|err| Problem::new(Code::MalformedJson).with_detail(err.to_string()))?
            .refresh_token
    };
    let mut conn = state.db().await?;
    let claims = user.claims().clone();
    conn.transaction(async |conn| {
        if let Some(token) = &refresh_token {
            sessions::revoke(conn, claims.sub, token).await?;
        }
        let actor = Actor::new(claims.sub, claims.role, client.clone());
        audit::record(
            conn,
            &actor,
            "auth.logout",
            "user",
            Some(claims.sub.to_string()),
            json!({}),
        )
        .await?;
        Ok::<_, Problem>(())
    })
    .await?;
    sessions::deny(&state, &claims).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    pub email: Option<String>,
}

/// Ask for a password-reset email. Always 202, whether or not the email has an account;
/// at most `PASSWORD_RESETS_PER_HOUR` (3) emails per address and hour are sent.
#[utoipa::path(post, path = "/api/auth/forgot-password", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202), (status = 400, body = domain::ProblemBody)))]
pub async fn forgot_password(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<ForgotPasswordRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let email = v.required("email", body.email.as_deref(), Email::parse);
    let email = v.finish(|| email)?;
    if !reset_limit::allow(&state, &email).await {
        return Ok(reset_requested());
    }
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let Some(user) = db::users::find_by_email(conn, email.as_str()).await? else {
            return Ok::<_, Problem>(());
        };
        let token = secrets::generate();
        // Only notification can open it: the outbox row and the broker message carry
        // nothing that resets a password.
        let sealed = state
            .seal_key
            .seal(token.as_bytes())
            .map_err(|err| Problem::internal(&err))?;
        let expires_at = Utc::now() + chrono::Duration::hours(1);
        db::resets::insert(conn, user.id, &secrets::digest(&token), expires_at).await?;
        let actor = Actor::anonymous(client.clone());
        audit::record(
            conn,
            &actor,
            "auth.password_reset_requested",
            "user",
            Some(user.id.to_string()),
            json!({}),
        )
        .await?;
        events::password_reset_requested(conn, &user, sealed, expires_at, client.ip.as_deref())
            .await?;
        Ok(())
    })
    .await?;
    Ok(reset_requested())
}

/// The one answer to a reset request, whether or not anything was sent.
fn reset_requested() -> HttpResponse {
    HttpResponse::Accepted().json(json!({
        "message": "If an account exists for this email, a reset link has been sent."
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the reset email.
    pub token: Option<String>,
    /// The new password (same policy as registration).
    pub password: Option<String>,
}

/// Set a new password with a reset token. Ends every session of the account.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 204), (status = 400, description = "VALIDATION_FAILED or RESET_TOKEN_INVALID",
        body = domain::ProblemBody),
        (status = 503, description = "SERVICE_UNAVAILABLE: every password-hashing slot is busy; retry after `Retry-After`", body = domain::ProblemBody)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let token = v.required("token", body.token.as_deref(), |s| Ok(s.to_owned()));
    let password = v.required("password", body.password.as_deref(), Password::parse);
    let (token, password) = v.finish(|| Some((token?, password?)))?;
    let digest = secrets::digest(&token);
    // The token is checked before anything is hashed: a made-up token costs one query, not a
    // hashing slot and 19 MiB. It is checked again, locked, once the hash is ready.
    let found = db::resets::find_by_hash(&mut *state.db().await?, &digest).await?;
    if !found.is_some_and(|r| r.is_open(Utc::now())) {
        return Err(invalid_reset());
    }
    let hash = state.passwords.hash(&password).await?;
    let mut conn = state.db().await?;
    let user_id = conn
        .transaction(async |conn| {
            let reset = db::resets::lock_by_hash(conn, &digest).await?;
            let Some(reset) = reset.filter(|r| r.is_open(Utc::now())) else {
                return Err(invalid_reset());
            };
            db::users::set_password(conn, reset.user_id, &hash).await?;
            db::resets::mark_used(conn, reset.user_id).await?;
            db::sessions::revoke_all_for_user(conn, reset.user_id).await?;
            let actor = Actor {
                id: Some(reset.user_id),
                role: None,
                client: client.clone(),
            };
            audit::record(
                conn,
                &actor,
                "auth.password_reset",
                "user",
                Some(reset.user_id.to_string()),
                json!({}),
            )
            .await?;
            Ok(reset.user_id)
        })
        .await?;
    sessions::void_access_tokens(&state, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn invalid_reset() -> Problem {
    Problem::new(Code::ResetTokenInvalid)
        .with_detail("The reset link is invalid, expired or already used.")
}
