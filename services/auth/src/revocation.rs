//! Ending access tokens before they expire, in Redis where the gateway and every service
//! check them (`auth_token::revocation`): one token's `jti` on the deny-list (logout), or a
//! user's standing token version raised (password reset, suspension, role or email change).
//! Each is written together with a notice on `auth:revocations`, in one Redis transaction.

use crate::db;
use crate::state::AppState;
use auth_token::Claims;
use auth_token::revocation::{self, Notice};
use chrono::Utc;
use deadpool_redis::redis;
use domain::{Problem, UserId};

pub use auth_token::revocation::{denylist_key, token_version_key};

/// Puts the access token on the deny-list until it would have expired anyway, and announces it.
pub async fn deny(state: &AppState, claims: &Claims) -> Result<(), Problem> {
    let ttl = claims.remaining_secs().max(1);
    let notice = Notice::Token {
        jti: claims.jti,
        until: claims.exp,
    };
    record(state, &denylist_key(claims.jti), 1, ttl, &notice).await
}

/// Voids every access token of `user_id` issued before its token version last rose (the
/// database raises it with the change that calls for this: a role, status, password or email
/// change; see `db::users::UserRow::token_version`), and announces it. Called after that
/// change committed; the version read then is at least the one it set.
pub async fn void_access_tokens(state: &AppState, user_id: UserId) -> Result<(), Problem> {
    let mut conn = state.db().await?;
    let version = db::users::token_version(&mut conn, user_id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    let version = u64::try_from(version).unwrap_or_default();
    let ttl = state.config.access_token_ttl_secs.max(1);
    let user = user_id.into_inner();
    let notice = Notice::User {
        user,
        version,
        until: Utc::now().timestamp().saturating_add_unsigned(ttl),
    };
    let mut redis = state.redis().await?;
    RAISE_VERSION
        .key(token_version_key(user))
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
/// and announces the notice, atomically, as [`record`] does.
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
async fn record(
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
