//! `/api/auth/*`: register, login, refresh, logout, forgot and reset password.

use crate::age_gate;
use crate::audit;
use crate::password_reset;
use crate::registration::{self, NewAccount};
use crate::routes::profile::UserView;
use crate::sessions::{self, SignedIn, TokenPair};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Responder, web};
use domain::input::Validation;
use domain::{Code, DateOfBirth, Email, FullName, Password, PhoneNumber, Problem};
use platform::api::{Created, NoContent};
use platform::client::{Acting, ClientInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

impl TryFrom<&RegisterRequest> for NewAccount {
    type Error = Problem;

    fn try_from(req: &RegisterRequest) -> Result<Self, Problem> {
        let mut v = Validation::new();
        let full_name = v.required("fullName", req.full_name.as_deref(), FullName::parse);
        let email = v.required("email", req.email.as_deref(), Email::parse);
        let password = v.required("password", req.password.as_deref(), Password::parse);
        let phone = v.required("phone", req.phone.as_deref(), PhoneNumber::parse);
        let today = age_gate::today();
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

/// A user signed in: the account, and the new session's tokens beside it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

impl From<SignedIn> for SessionResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            user: UserView::from(&signed_in.user),
            tokens: signed_in.tokens,
        }
    }
}

/// Create a customer account (21+) and sign in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "The new account, signed in", body = SessionResponse),
        (status = 409, description = "`EMAIL_TAKEN`: the address has an account"),
        (status = 422, description = "`UNDERAGE`: younger than 21 today"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: every password-hashing slot is busy; retry after `Retry-After`")))]
pub async fn register(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<RegisterRequest>,
) -> Result<Created<SessionResponse>, Problem> {
    let account = NewAccount::try_from(&*body)?;
    let signed_in = registration::register(&state, &account, &client).await?;
    Ok(Created::new(SessionResponse::from(signed_in)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = SessionResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`: a wrong password or an unknown email (the same answer)"),
        (status = 403, description = "`ACCOUNT_SUSPENDED`: the password is right but the account is suspended"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: every password-hashing slot is busy; retry after `Retry-After`")))]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<SessionResponse>, Problem> {
    let mut v = Validation::new();
    let email = v.required("email", body.email.as_deref(), |s| {
        Ok(s.trim().to_lowercase())
    });
    let password = v.required("password", body.password.as_deref(), |s| Ok(s.to_owned()));
    let (email, password) = v.finish(|| Some((email?, password?)))?;
    let signed_in = sessions::login(&state, &email, &password, &client).await?;
    Ok(web::Json(SessionResponse::from(signed_in)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// Exchange a refresh token for a new pair. Using a refresh token twice ends its session.
#[utoipa::path(post, path = "/api/auth/refresh-token", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "A new pair in the same session", body = TokenPair),
        (status = 401, description = "`INVALID_TOKEN`: unknown, expired, revoked or already used (a reuse ends the session)"),
        (status = 403, description = "`ACCOUNT_SUSPENDED`: the account was suspended since")))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, Problem> {
    let mut v = Validation::new();
    let token = v.required("refreshToken", body.refresh_token.as_deref(), |s| {
        Ok(s.to_owned())
    });
    let token = v.finish(|| token)?;
    Ok(web::Json(sessions::refresh(&state, &token).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    /// The session's refresh token; its whole family is revoked.
    pub refresh_token: Option<String>,
}

/// End this session: the refresh token's family is revoked and the access token denied.
/// Without a body, only the access token is denied.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = Option<LogoutRequest>,
    responses((status = 204, description = "Signed out")), security(("bearer" = [])))]
pub async fn logout(
    state: web::Data<AppState>,
    user: Acting,
    body: web::Bytes,
) -> Result<NoContent, Problem> {
    // No body means "this access token only"; a body that is there must be right, or the
    // client would believe a session ended that did not.
    let refresh_token = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<LogoutRequest>(&body)
            .map_err(|err| Problem::new(Code::MalformedJson).with_detail(err.to_string()))?
            .refresh_token
    };
    let client = audit::client_of(&user);
    let claims = user.caller().claims();
    sessions::logout(&state, claims, refresh_token.as_deref(), &client).await?;
    Ok(NoContent)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    pub email: Option<String>,
}

/// The one answer to a reset request, whether or not anything was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    /// Says that a link was sent if the account exists, and nothing more.
    #[schema(example = "If an account exists for this email, a reset link has been sent.")]
    pub message: &'static str,
}

/// Ask for a password-reset email. Always 202, whether or not the email has an account;
/// at most `PASSWORD_RESETS_PER_HOUR` (3) emails per address and hour are sent.
#[utoipa::path(post, path = "/api/auth/forgot-password", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202, description = "Accepted, whether or not a mail goes out", body = ResetRequested)))]
pub async fn forgot_password(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<ForgotPasswordRequest>,
) -> Result<CustomizeResponder<web::Json<ResetRequested>>, Problem> {
    let mut v = Validation::new();
    let email = v.required("email", body.email.as_deref(), Email::parse);
    let email = v.finish(|| email)?;
    password_reset::request(&state, &email, &client).await?;
    let answer = ResetRequested {
        message: "If an account exists for this email, a reset link has been sent.",
    };
    Ok(web::Json(answer)
        .customize()
        .with_status(StatusCode::ACCEPTED))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    /// The token from the reset email.
    pub token: Option<String>,
    /// The new password (same policy as registration), as the guide names it. Either this or
    /// `password`; both only if they are the same.
    pub new_password: Option<String>,
    /// The new password under its earlier name; still accepted.
    pub password: Option<String>,
}

impl ResetPasswordRequest {
    /// The new password: `newPassword` (the guide's) or `password` (ours). Both given and
    /// different is refused naming `newPassword`: we would have to guess which one the user
    /// typed twice. Neither is refused naming `newPassword`, the guide's name.
    fn new_password(&self, v: &mut Validation) -> Option<Password> {
        match (self.new_password.as_deref(), self.password.as_deref()) {
            (Some(new), Some(old)) if new != old => {
                v.add(
                    "newPassword",
                    "must be the same as `password` when both are given",
                );
                None
            }
            (Some(new), _) => v.check("newPassword", Password::parse(new)),
            (None, Some(old)) => v.check("password", Password::parse(old)),
            (None, None) => {
                v.add("newPassword", "is required");
                None
            }
        }
    }
}

/// Set a new password with a reset token. Ends every session of the account. The new password
/// is `newPassword` (the guide's name) or `password`.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 204, description = "The password is set; every session ended"),
        (status = 400, description = "`VALIDATION_FAILED` (see `errors`: `newPassword` when neither it nor `password` is given, or both differ), or `RESET_TOKEN_INVALID`: the token is unknown, expired or used"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: every password-hashing slot is busy; retry after `Retry-After`")))]
pub async fn reset_password(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<ResetPasswordRequest>,
) -> Result<NoContent, Problem> {
    let mut v = Validation::new();
    let token = v.required("token", body.token.as_deref(), |s| Ok(s.to_owned()));
    let password = body.new_password(&mut v);
    let (token, password) = v.finish(|| Some((token?, password?)))?;
    password_reset::reset(&state, &token, &password, &client).await?;
    Ok(NoContent)
}
