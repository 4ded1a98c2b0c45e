//! Sessions: a login is a family of refresh tokens. Each refresh rotates the token; showing a
//! token that was already rotated means it leaked, so the whole family is revoked. Logout
//! revokes the family and puts the access token's `jti` on the deny-list the gateway checks
//! ([`crate::revocation`]).
//!
//! The use cases: [`login`], [`refresh`], [`logout`]; [`issue`] signs a pair for the others
//! (registration, an email change).

use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::UserRow;
use crate::revocation;
use crate::secrets;
use crate::state::AppState;
use auth_token::Claims;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Email, Problem};
use platform::client::ClientInfo;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a successful login, registration or refresh answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; exchange it at `/api/auth/refresh-token`. Single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A user signed in: the account and its new session's tokens.
#[derive(Debug)]
pub struct SignedIn {
    pub user: UserRow,
    pub tokens: TokenPair,
}

/// Which refresh-token family a new pair belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Family {
    /// A new session (a login, a registration, a re-authentication).
    New,
    /// The session of a refresh token being rotated.
    Continue(Uuid),
}

/// Signs an access token for `user` and stores a new refresh token in `family`.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &UserRow,
    family: Family,
) -> Result<TokenPair, Problem> {
    let config = &state.config;
    let claims = Claims::new(
        user.id,
        user.role,
        user.id_verified(),
        config.access_ttl(),
        &config.jwt_issuer,
        &config.jwt_audience,
    )
    .with_version(u64::try_from(user.token_version).unwrap_or_default());
    let access_token = state.keys.sign(&claims)?;
    let refresh_token = secrets::generate();
    let expires_at =
        Utc::now() + chrono::Duration::from_std(config.refresh_ttl()).unwrap_or_default();
    let family = match family {
        Family::New => Uuid::now_v7(),
        Family::Continue(family) => family,
    };
    db::sessions::insert(
        conn,
        family,
        user.id,
        &secrets::digest(&refresh_token),
        expires_at,
    )
    .await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: config.access_token_ttl_secs,
    })
}

/// Signs in with `email` (as typed, already trimmed and lower-cased) and `password`. A
/// wrong password and an unknown email get the same 401 in the same time (a dummy hash);
/// a suspended account, once the password is right, a 403. Every attempt is audited, and a
/// refused one is committed before it is answered; a successful one sets `last_login_at`.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<SignedIn, Problem> {
    // Something that is not an email cannot have an account: it is looked up as nothing (no
    // query with unchecked text) and answered like an unknown email. The audit keeps a
    // bounded, printable rendering of what was typed.
    let parsed = Email::parse(email).ok();
    let typed: String = email
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
    let matches = state.passwords.verify(password, password_hash).await?;
    let mut conn = state.db().await?;
    // Failed attempts are committed (audited) before the refusal is answered: the
    // transaction answers the refusal as its success.
    conn.transaction(async |conn| {
        let Some(user) = user.filter(|_| matches) else {
            let actor = Actor::anonymous(client.clone());
            let details = json!({ "email": typed });
            audit::record(conn, &actor, "auth.login_failed", "user", None, details).await?;
            return Ok::<_, Problem>(Err(Problem::new(Code::InvalidCredentials)
                .with_detail("The email or password is incorrect.")));
        };
        let actor = Actor::user(user.id, user.role, client.clone());
        let subject = Some(user.id.to_string());
        if user.is_suspended() {
            let action = "auth.login_refused_suspended";
            audit::record(conn, &actor, action, "user", subject, json!({})).await?;
            return Ok(Err(Problem::new(Code::AccountSuspended)
                .with_detail("This account is suspended. Contact support.")));
        }
        let action = "auth.login_succeeded";
        audit::record(conn, &actor, action, "user", subject, json!({})).await?;
        let user = db::users::record_login(conn, user.id).await?;
        let tokens = issue(conn, state, &user, Family::New).await?;
        Ok(Ok(SignedIn { user, tokens }))
    })
    .await?
}

/// Rotates the refresh token `token` into a new pair of the same session. A token shown a
/// second time revokes its whole family (committed, then refused); an unknown, expired or
/// revoked one is refused; so is one of an account suspended since.
pub async fn refresh(state: &AppState, token: &str) -> Result<TokenPair, Problem> {
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| rotate(conn, state, token).await)
        .await?;
    match outcome {
        Rotation::Rotated(tokens) => Ok(tokens),
        Rotation::Reused | Rotation::Invalid => Err(invalid_refresh()),
        Rotation::Suspended => {
            Err(Problem::new(Code::AccountSuspended).with_detail("This account is suspended."))
        }
    }
}

/// What presenting a refresh token led to.
enum Rotation {
    /// A new pair in the same family.
    Rotated(TokenPair),
    /// The token had already been used: its family is now revoked. Commit, then refuse.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
    /// The account was suspended since.
    Suspended,
}

/// The transaction of [`refresh`]; the token row is locked so two concurrent refreshes with
/// one token cannot both succeed.
async fn rotate(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    token: &str,
) -> Result<Rotation, Problem> {
    let Some(row) = db::sessions::lock_by_hash(conn, &secrets::digest(token)).await? else {
        return Ok(Rotation::Invalid);
    };
    if row.rotated_at.is_some() {
        db::sessions::revoke_family(conn, row.family_id).await?;
        tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reused; family revoked");
        return Ok(Rotation::Reused);
    }
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(Rotation::Invalid);
    }
    let Some(user) = db::users::find(conn, row.user_id).await? else {
        return Ok(Rotation::Invalid);
    };
    if user.is_suspended() {
        db::sessions::revoke_family(conn, row.family_id).await?;
        return Ok(Rotation::Suspended);
    }
    db::sessions::mark_rotated(conn, row.id).await?;
    let tokens = issue(conn, state, &user, Family::Continue(row.family_id)).await?;
    Ok(Rotation::Rotated(tokens))
}

/// Ends the session of the caller (`claims`, from `client`): the family of `refresh_token`
/// if one is given and it is theirs (an unknown one is ignored: logging out twice is not an
/// error), and the access token itself, on the deny-list.
pub async fn logout(
    state: &AppState,
    claims: &Claims,
    refresh_token: Option<&str>,
    client: &ClientInfo,
) -> Result<(), Problem> {
    let user = claims.user_id();
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        if let Some(token) = refresh_token
            && let Some(row) = db::sessions::lock_by_hash(conn, &secrets::digest(token)).await?
            && row.user_id == user
        {
            db::sessions::revoke_family(conn, row.family_id).await?;
        }
        let actor = Actor::user(user, claims.role, client.clone());
        let subject = Some(user.to_string());
        audit::record(conn, &actor, "auth.logout", "user", subject, json!({})).await?;
        Ok::<_, Problem>(())
    })
    .await?;
    revocation::deny(state, claims).await
}

/// The refusal for a refresh token that cannot be used.
pub fn invalid_refresh() -> Problem {
    Problem::new(Code::InvalidToken)
        .with_detail("The refresh token is invalid, expired or already used.")
}
