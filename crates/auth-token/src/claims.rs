//! The claims of an access token (DESIGN §6).

use chrono::Utc;
use domain::{Role, UserId};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    pub role: Role,
    /// Whether the user's ID document was approved when the token was issued.
    pub idv: bool,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Not valid before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id; logout puts it on the deny-list until `exp`.
    pub jti: Uuid,
    /// The user's token version when the token was issued. Revoking every token of a user
    /// (password reset, suspension, role change) raises the version: a token below the
    /// user's current one is void. Tokens from before versions existed read as 0.
    #[serde(default)]
    pub ver: u64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    /// Claims for `user` valid from now for `ttl`.
    pub fn new(
        user: UserId,
        role: Role,
        idv: bool,
        ttl: Duration,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        let now = Utc::now().timestamp();
        Self {
            sub: user.into_inner(),
            role,
            idv,
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            nbf: Some(now),
            jti: Uuid::now_v7(),
            ver: 0,
            iss: issuer.into(),
            aud: audience.into(),
        }
    }

    /// The same claims, issued at the user's token version `ver`.
    pub fn with_version(mut self, ver: u64) -> Self {
        self.ver = ver;
        self
    }

    pub fn user_id(&self) -> UserId {
        UserId::from_uuid(self.sub)
    }

    /// Seconds until the token expires (0 if it has).
    pub fn remaining_secs(&self) -> u64 {
        u64::try_from(self.exp - Utc::now().timestamp()).unwrap_or(0)
    }
}
