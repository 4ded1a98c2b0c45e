//! Sessions: a login is a family of refresh tokens. Each refresh rotates the token; showing a
//! token that was already rotated means it leaked, so the whole family is revoked. Logout
//! revokes the family and puts the access token's `jti` on the deny-list the gateway checks.

use crate::db;
use crate::db::users::UserRow;
use crate::secrets;
use crate::state::AppState;
use auth_token::Claims;
use chrono::Utc;
use deadpool_redis::redis;
use diesel_async::AsyncPgConnection;
use domain::{Code, Problem, UserId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use auth_token::revocation::{self, Notice};
pub use auth_token::revocation::{denylist_key, token_version_key};

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

/// Signs an access token for `user` and stores a new refresh token in `family` (a new
/// family for a new login).
pub async fn issue(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &UserRow,
    family: Option<Uuid>,
) -> Result<TokenPair, Problem> {
    let config = &state.config;
    let claims = Claims::new(
        UserId::from_uuid(user.id),
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
    db::sessions::insert(
        conn,
        family.unwrap_or_else(Uuid::now_v7),
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

/// What presenting a refresh token led to.
pub enum Refreshed {
    /// A new pair in the same family.
    Rotated(TokenPair),
    /// The token had already been used: its family is now revoked. Commit, then refuse.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
    /// The account was suspended since.
    Suspended,
}

/// Rotates `token`. Runs in the caller's transaction; the token row is locked so two
/// concurrent refreshes with one token cannot both succeed.
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    token: &str,
) -> Result<Refreshed, Problem> {
    let Some(row) = db::sessions::lock_by_hash(conn, &secrets::digest(token)).await? else {
        return Ok(Refreshed::Invalid);
    };
    if row.rotated_at.is_some() {
        db::sessions::revoke_family(conn, row.family_id).await?;
        tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reused; family revoked");
        return Ok(Refreshed::Reused);
    }
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(Refreshed::Invalid);
    }
    let Some(user) = db::users::find(conn, row.user_id).await? else {
        return Ok(Refreshed::Invalid);
    };
    if user.is_suspended() {
        db::sessions::revoke_family(conn, row.family_id).await?;
        return Ok(Refreshed::Suspended);
    }
    db::sessions::mark_rotated(conn, row.id).await?;
    Ok(Refreshed::Rotated(
        issue(conn, state, &user, Some(row.family_id)).await?,
    ))
}

/// Revokes the family of `token` if it belongs to `user_id`. Unknown tokens are ignored:
/// logging out twice is not an error.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token: &str,
) -> Result<(), Problem> {
    if let Some(row) = db::sessions::lock_by_hash(conn, &secrets::digest(token)).await?
        && row.user_id == user_id
    {
        db::sessions::revoke_family(conn, row.family_id).await?;
    }
    Ok(())
}

/// Puts the access token on the deny-list until it would have expired anyway, and announces it.
pub async fn deny(state: &AppState, claims: &Claims) -> Result<(), Problem> {
    let ttl = claims.remaining_secs().max(1);
    let notice = Notice::Token {
        jti: claims.jti,
        until: claims.exp,
    };
    record_revocation(state, &denylist_key(claims.jti), 1, ttl, &notice).await
}

/// Voids every access token of `user_id` issued before its token version last rose (the
/// database raises it with the change that calls for this: a role, status, password or email
/// change; see `db::users::UserRow::token_version`), and announces it. Called after that
/// change committed; the version read then is at least the one it set.
pub async fn void_access_tokens(state: &AppState, user_id: Uuid) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let version = db::users::token_version(&mut conn, user_id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    let version = u64::try_from(version).unwrap_or_default();
    let ttl = state.config.access_token_ttl_secs.max(1);
    let notice = Notice::User {
        user: user_id,
        version,
        until: Utc::now().timestamp().saturating_add_unsigned(ttl),
    };
    let mut redis = state.redis().await?;
    RAISE_VERSION
        .key(token_version_key(user_id))
        .key(revocation::CHANNEL)
        .arg(version)
        .arg(ttl)
        .arg(notice.to_message())
        .invoke_async::<()>(&mut redis)
        .await
        .map_err(|err| Problem::unavailable(&err))
}

/// Raises the standing version to ARGV[1] (never lowers it: two revocations may record their
/// versions out of order), keeps it ARGV[2] seconds (every token below it has expired by then)
/// and announces the notice, atomically, as [`record_revocation`] does.
static RAISE_VERSION: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local standing = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > standing then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
redis.call('PUBLISH', KEYS[2], ARGV[3])
",
    )
});

/// Writes the revocation and publishes its notice in one transaction: whoever reads the key
/// before it is written is still subscribed when the notice goes out (see the gateway README).
async fn record_revocation(
    state: &AppState,
    key: &str,
    value: i64,
    ttl_secs: u64,
    notice: &Notice,
) -> Result<(), Problem> {
    let mut redis = state.redis().await?;
    redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(key)
        .arg(value)
        .arg("EX")
        .arg(ttl_secs)
        .ignore()
        .cmd("PUBLISH")
        .arg(revocation::CHANNEL)
        .arg(notice.to_message())
        .ignore()
        .query_async::<()>(&mut redis)
        .await
        .map_err(|err| Problem::unavailable(&err))
}

/// The refusal for a refresh token that cannot be used.
pub fn invalid_refresh() -> Problem {
    Problem::new(Code::InvalidToken)
        .with_detail("The refresh token is invalid, expired or already used.")
}
