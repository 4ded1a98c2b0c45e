//! The revocation check every service runs on the tokens it accepts, so that a logged-out,
//! suspended, demoted or password-reset user's token stops working everywhere, not only at
//! the gateway (which lets tokens through when Redis is slow, and is not the only way in).
//!
//! Each lookup reads the deny-list entry of the token and the user's standing token version
//! ([`crate::revocation`]) in one round trip. Answers are kept briefly in process: a token that
//! stands is asked about again after [`RevocationCheck::with_fresh_for`] (one second by
//! default), a revoked one never again. When Redis cannot answer in time the check says so, and
//! the extractor decides by what the request does (see `extract`).

use crate::Claims;
use crate::revocation::{denylist_key, is_revoked, token_version_key};
use deadpool_redis::redis;
use quick_cache::sync::Cache;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How many tokens' answers are kept.
const CACHED_TOKENS: usize = 10_000;

/// Redis could not tell whether the token was revoked.
#[derive(Debug, thiserror::Error)]
#[error("the token deny-list could not be read: {0}")]
pub struct Unreadable(pub(crate) String);

/// Why the check could not be built.
#[derive(Debug, thiserror::Error)]
#[error("invalid Redis configuration for the revocation check: {0}")]
pub struct CheckConfigError(#[from] deadpool_redis::CreatePoolError);

/// Reads auth's deny-list and token versions from Redis.
pub struct RevocationCheck {
    redis: deadpool_redis::Pool,
    /// Token id → (revoked, when Redis said so).
    answers: Cache<Uuid, (bool, Instant)>,
    fresh_for: Duration,
    answer_within: Duration,
}

impl RevocationCheck {
    /// A check against the Redis at `url`. Connections are opened on first use, so a service
    /// starts while Redis is down (and refuses or passes tokens as `extract` says meanwhile).
    pub fn new(url: &str) -> Result<Self, CheckConfigError> {
        let mut config = deadpool_redis::Config::from_url(url);
        config.pool = Some(deadpool_redis::PoolConfig::new(8));
        let redis = config.create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
        Ok(Self {
            redis,
            answers: Cache::new(CACHED_TOKENS),
            fresh_for: Duration::from_secs(1),
            answer_within: Duration::from_millis(250),
        })
    }

    /// How long a "stands" answer is trusted before Redis is asked again: the longest a
    /// revoked token can still pass this service.
    pub fn with_fresh_for(mut self, fresh_for: Duration) -> Self {
        self.fresh_for = fresh_for;
        self
    }

    /// How long Redis may take before the deny-list counts as unreadable.
    pub fn with_timeout(mut self, answer_within: Duration) -> Self {
        self.answer_within = answer_within;
        self
    }

    /// Whether the token of `claims` was revoked.
    pub async fn is_revoked(&self, claims: &Claims) -> Result<bool, Unreadable> {
        if let Some((revoked, at)) = self.answers.get(&claims.jti)
            && (revoked || at.elapsed() < self.fresh_for)
        {
            return Ok(revoked);
        }
        let (denied, version) = tokio::time::timeout(self.answer_within, self.lookup(claims))
            .await
            .map_err(|_| Unreadable(format!("no answer within {:?}", self.answer_within)))??;
        let revoked = is_revoked(claims, denied, version);
        self.answers.insert(claims.jti, (revoked, Instant::now()));
        Ok(revoked)
    }

    async fn lookup(&self, claims: &Claims) -> Result<(bool, Option<u64>), Unreadable> {
        let mut redis = self
            .redis
            .get()
            .await
            .map_err(|err| Unreadable(err.to_string()))?;
        redis::pipe()
            .cmd("EXISTS")
            .arg(denylist_key(claims.jti))
            .cmd("GET")
            .arg(token_version_key(claims.sub))
            .query_async(&mut redis)
            .await
            .map_err(|err| Unreadable(err.to_string()))
    }
}
