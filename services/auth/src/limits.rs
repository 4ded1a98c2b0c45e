//! Auth's own limits, counted in Redis in fixed windows:
//!
//! - At most a few password-reset emails per address and hour ([`allow`]), so nobody can
//!   bury someone's inbox in reset mails by asking again and again. Beyond the limit the
//!   request is answered as usual (202) but sends nothing, so the limit reveals nothing
//!   either. Counted under a key derived from the address's SHA-256, so the addresses asked
//!   about are not kept in Redis in clear.
//! - At most [`REAUTH_FAILURES`] wrong current passwords per account in 15 minutes
//!   ([`reauth_allowed`], [`reauth_failed`]) when an email change asks for the password again.

use crate::state::AppState;
use deadpool_redis::redis;
use domain::{Email, Problem, UserId};
use sha2::{Digest, Sha256};

/// The window the limit counts in.
pub const WINDOW_SECS: u64 = 3600;

/// The Redis key counting reset requests for `email` (already trimmed and lower-cased by
/// [`Email::parse`], so every spelling of one address counts together).
pub fn key(email: &Email) -> String {
    let digest = Sha256::new()
        .chain_update(b"auth:password-reset:")
        .chain_update(email.as_str().as_bytes())
        .finalize();
    format!("auth:reset-requests:{}", hex::encode(digest))
}

/// Counts a reset request for `email` and says whether it may send an email. When Redis
/// cannot count, the request goes ahead: a password reset is how a locked-out user gets back
/// in, and the gateway's per-IP limit on the route still holds.
pub async fn allow(state: &AppState, email: &Email) -> bool {
    match count(state, &key(email), WINDOW_SECS).await {
        Ok(count) => count <= u64::from(state.config.password_resets_per_hour),
        Err(err) => {
            tracing::warn!(error = %err, "could not count password-reset requests; allowing");
            true
        }
    }
}

/// Adds one to the counter at `key` in a fixed window of `window_secs` that starts with its
/// first count (later ones do not extend it), and answers the count so far.
pub async fn count(state: &AppState, key: &str, window_secs: u64) -> Result<u64, String> {
    let mut redis = state.redis.get().await.map_err(|err| err.to_string())?;
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(key)
        .arg(0)
        .arg("NX")
        .arg("EX")
        .arg(window_secs)
        .ignore()
        .cmd("INCR")
        .arg(key)
        .query_async(&mut redis)
        .await
        .map_err(|err| err.to_string())?;
    Ok(count)
}

/// How many wrong current passwords an account may be sent in [`REAUTH_WINDOW_SECS`] (the
/// guide's login limit): an email change asks for the password again, and without this a
/// stolen access token could guess it there far faster than at login.
pub const REAUTH_FAILURES: u64 = 5;
pub const REAUTH_WINDOW_SECS: u64 = 15 * 60;

/// The Redis key counting `user`'s wrong current passwords.
pub fn reauth_key(user: UserId) -> String {
    format!("auth:reauth-failures:{user}")
}

/// Whether `user` may try their current password again, and if not, in how many seconds.
/// Unlike reset mails this fails closed: it guards the account against whoever holds a token.
pub async fn reauth_allowed(state: &AppState, user: UserId) -> Result<(), Problem> {
    let mut redis = state.redis().await?;
    let (failures, ttl): (Option<u64>, i64) = redis::pipe()
        .cmd("GET")
        .arg(reauth_key(user))
        .cmd("TTL")
        .arg(reauth_key(user))
        .query_async(&mut redis)
        .await
        .map_err(|err| Problem::unavailable(&err))?;
    if failures.unwrap_or(0) >= REAUTH_FAILURES {
        return Err(Problem::rate_limited(
            u64::try_from(ttl).unwrap_or(1).max(1),
        ));
    }
    Ok(())
}

/// Counts a wrong current password for `user`.
pub async fn reauth_failed(state: &AppState, user: UserId) {
    if let Err(err) = count(state, &reauth_key(user), REAUTH_WINDOW_SECS).await {
        tracing::warn!(error = %err, "could not count a failed re-authentication");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_address_shares_a_key_that_does_not_contain_it() {
        let a = Email::parse("Ada@Example.com").unwrap();
        let b = Email::parse("  ada@example.COM ").unwrap();
        assert_eq!(key(&a), key(&b));
        assert!(!key(&a).contains("ada"), "{}", key(&a));
        assert_ne!(key(&a), key(&Email::parse("bob@example.com").unwrap()));
    }
}
