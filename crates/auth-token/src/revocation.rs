//! Where auth records access tokens that stopped being valid before they expire, so that
//! everyone who checks them (auth itself, the gateway at the edge) reads the same Redis keys.

use crate::Claims;
use uuid::Uuid;

/// Redis key of a denied access token (logout); present until the token would have expired.
pub fn denylist_key(jti: Uuid) -> String {
    format!("auth:denylist:{jti}")
}

/// Redis key holding a time (Unix seconds): every access token of the user whose `iat` is at
/// or before it is void. Set when a user's tokens must stop working at once (password reset,
/// suspension, role change). `iat` has one-second resolution, hence "at or before".
pub fn revoked_before_key(user_id: Uuid) -> String {
    format!("auth:revoked-before:{user_id}")
}

/// Whether `claims` are void given what Redis holds: the deny-list entry's presence and the
/// user's revoked-before time, if any.
pub fn is_revoked(claims: &Claims, denied: bool, revoked_before: Option<i64>) -> bool {
    denied || revoked_before.is_some_and(|before| claims.iat <= before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Role, UserId};
    use std::time::Duration;

    fn claims() -> Claims {
        Claims::new(
            UserId::new(),
            Role::Customer,
            false,
            Duration::from_secs(60),
            "i",
            "a",
        )
    }

    #[test]
    fn a_listed_token_is_revoked() {
        assert!(is_revoked(&claims(), true, None));
        assert!(!is_revoked(&claims(), false, None));
    }

    #[test]
    fn tokens_issued_up_to_the_revocation_second_are_void() {
        let claims = claims();
        assert!(is_revoked(&claims, false, Some(claims.iat)));
        assert!(is_revoked(&claims, false, Some(claims.iat + 5)));
        assert!(!is_revoked(&claims, false, Some(claims.iat - 1)));
    }
}
