//! At most a few password-reset emails per address and hour, so nobody can bury someone's
//! inbox in reset mails by asking again and again. Beyond the limit the request is answered
//! as usual (202) but sends nothing, so the limit reveals nothing either.
//!
//! Counted in Redis per hour window under a key derived from the address's SHA-256, so the
//! addresses asked about are not kept in Redis in clear.

use crate::state::AppState;
use deadpool_redis::redis;
use domain::Email;
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
    let key = key(email);
    let counted = async {
        let mut redis = state.redis.get().await.map_err(|err| err.to_string())?;
        // The window starts with the first request and is not extended by later ones.
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("NX")
            .arg("EX")
            .arg(WINDOW_SECS)
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .map_err(|err| err.to_string())?;
        Ok::<_, String>(count)
    };
    match counted.await {
        Ok(count) => count <= u64::from(state.config.password_resets_per_hour),
        Err(err) => {
            tracing::warn!(error = %err, "could not count password-reset requests; allowing");
            true
        }
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
