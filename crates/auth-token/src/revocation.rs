//! Where auth records access tokens that stopped being valid before they expire, so that
//! everyone who checks them (auth itself, the gateway at the edge) reads the same Redis keys,
//! and how it announces each revocation to those who keep verified tokens in memory.

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

/// Redis pub/sub channel on which auth announces each revocation as it records it (in the same
/// transaction), so that a gateway remembering which tokens stand can forget at once.
pub const CHANNEL: &str = "auth:revocations";

/// One revocation as announced on [`CHANNEL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// One access token (logout), void until it would have expired at `until` (Unix seconds).
    Token { jti: Uuid, until: i64 },
    /// Every access token of `user` issued at or before `before`; the notice matters until
    /// `until`, when the last of them has expired.
    User { user: Uuid, before: i64, until: i64 },
}

impl Notice {
    /// The message published on [`CHANNEL`].
    pub fn to_message(&self) -> String {
        match self {
            Self::Token { jti, until } => format!("token {jti} {until}"),
            Self::User {
                user,
                before,
                until,
            } => format!("user {user} {before} {until}"),
        }
    }

    /// A message read from [`CHANNEL`]; `None` if it is not one of ours.
    pub fn parse(message: &str) -> Option<Self> {
        let mut parts = message.split(' ');
        let notice = match parts.next()? {
            "token" => Self::Token {
                jti: parts.next()?.parse().ok()?,
                until: parts.next()?.parse().ok()?,
            },
            "user" => Self::User {
                user: parts.next()?.parse().ok()?,
                before: parts.next()?.parse().ok()?,
                until: parts.next()?.parse().ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(notice)
    }
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
    fn notices_read_back_as_they_were_written() {
        let token = Notice::Token {
            jti: Uuid::new_v4(),
            until: 1_800_000_000,
        };
        let user = Notice::User {
            user: Uuid::new_v4(),
            before: 1_799_999_000,
            until: 1_800_000_900,
        };
        for notice in [token, user] {
            assert_eq!(Notice::parse(&notice.to_message()), Some(notice));
        }
        for garbage in [
            "",
            "token",
            "token x 1",
            "user 1 2 3",
            "token {} 1 extra",
            "hello",
        ] {
            assert_eq!(Notice::parse(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn tokens_issued_up_to_the_revocation_second_are_void() {
        let claims = claims();
        assert!(is_revoked(&claims, false, Some(claims.iat)));
        assert!(is_revoked(&claims, false, Some(claims.iat + 5)));
        assert!(!is_revoked(&claims, false, Some(claims.iat - 1)));
    }
}
