//! Where auth records access tokens that stopped being valid before they expire, so that
//! everyone who checks them (auth itself, the gateway at the edge) reads the same Redis keys,
//! and how it announces each revocation to those who keep verified tokens in memory.

use crate::Claims;
use uuid::Uuid;

/// Redis key of a denied access token (logout); present until the token would have expired.
pub fn denylist_key(jti: Uuid) -> String {
    format!("auth:denylist:{jti}")
}

/// Redis key holding the lowest token version (`ver` claim) of the user that still stands:
/// every access token below it is void. Auth raises a user's version in the same database
/// transaction that suspends them, changes their role or resets their password, so a token
/// issued before that change carries a lower version and one issued after it does not, however
/// close together they are. (A cut-off time in whole seconds voided tokens issued in the same
/// second as the change, e.g. the one a user got by logging in again right after.)
pub fn token_version_key(user_id: Uuid) -> String {
    format!("auth:token-version:{user_id}")
}

/// Redis pub/sub channel on which auth announces each revocation as it records it (in the same
/// transaction), so that a gateway remembering which tokens stand can forget at once.
pub const CHANNEL: &str = "auth:revocations";

/// One revocation as announced on [`CHANNEL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// One access token (logout), void until it would have expired at `until` (Unix seconds).
    Token { jti: Uuid, until: i64 },
    /// Every access token of `user` below token version `version`; the notice matters until
    /// `until`, when the last of them has expired.
    User {
        user: Uuid,
        version: u64,
        until: i64,
    },
}

impl Notice {
    /// The message published on [`CHANNEL`].
    pub fn to_message(&self) -> String {
        match self {
            Self::Token { jti, until } => format!("token {jti} {until}"),
            // Not "user": a gateway of the time-based scheme must not read a version as a time.
            Self::User {
                user,
                version,
                until,
            } => format!("version {user} {version} {until}"),
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
            "version" => Self::User {
                user: parts.next()?.parse().ok()?,
                version: parts.next()?.parse().ok()?,
                until: parts.next()?.parse().ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(notice)
    }
}

/// Whether `claims` are void given what Redis holds: the deny-list entry's presence and the
/// user's lowest standing token version, if any.
pub fn is_revoked(claims: &Claims, denied: bool, standing_version: Option<u64>) -> bool {
    denied || standing_version.is_some_and(|version| claims.ver < version)
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
            version: 3,
            until: 1_800_000_900,
        };
        for notice in [token, user] {
            assert_eq!(Notice::parse(&notice.to_message()), Some(notice));
        }
        for garbage in [
            "",
            "token",
            "token x 1",
            "version 1 2 3",
            "user 6f1c5b6e-6c4b-4d43-9a49-6a1f0c2e7d10 1 2",
            "token {} 1 extra",
            "hello",
        ] {
            assert_eq!(Notice::parse(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn tokens_below_the_standing_version_are_void() {
        let claims = claims().with_version(2);
        assert!(is_revoked(&claims, false, Some(3)));
        assert!(!is_revoked(&claims, false, Some(2)));
        assert!(!is_revoked(&claims, false, Some(1)));
        assert!(!is_revoked(&claims, false, None));
    }
}
