//! Rate limits (DESIGN §6) and the token revocation check, counted in Redis so that all
//! gateway replicas share one count: a Lua script counts every policy a request's route has and
//! reads the deny-list entries, atomically. Windows are fixed: the first request of a window
//! starts it, and it resets `window` later. Requests that arrive together are counted by one
//! script call (`batch`).
//!
//! When Redis does not answer within the configured time, a per-process limiter takes over so
//! requests keep flowing (each replica then counts on its own) and the deny-list is not
//! consulted (services still verify every token's signature and expiry). Redis is retried
//! after a short pause rather than on every request.

mod batch;
mod local;

use auth_token::Claims;
use auth_token::revocation::{denylist_key, revoked_before_key};
use batch::{Batcher, Check, Counter, Token};
use local::LocalCounts;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One named limit from the routes file.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub requests: u64,
    pub window: Duration,
    pub key: PolicyKey,
}

/// What a policy counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKey {
    /// The client address (login attempts: per IP whoever claims to be logging in).
    Ip,
    /// The verified user, or the client address without a token.
    UserOrIp,
}

impl Policy {
    /// The counter's subject for this caller.
    pub fn subject(&self, ip: IpAddr, claims: Option<&Claims>) -> String {
        match (self.key, claims) {
            (PolicyKey::UserOrIp, Some(claims)) => format!("user:{}", claims.sub),
            _ => format!("ip:{ip}"),
        }
    }
}

/// One policy's count after this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub limit: u64,
    pub used: u64,
    /// Time until the window resets.
    pub reset: Duration,
}

impl Count {
    pub fn exceeded(&self) -> bool {
        self.used > self.limit
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Whole seconds until reset, at least 1 (for `RateLimit-Reset` and `Retry-After`).
    pub fn reset_secs(&self) -> u64 {
        self.reset.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// What the edge learnt about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// One per policy, in the route's order.
    pub counts: Vec<(usize, Count)>,
    /// `None` when the deny-list could not be read (Redis down) or there was no token.
    pub revoked: Option<bool>,
}

impl Verdict {
    /// The first policy over its limit.
    pub fn exceeded(&self) -> Option<(usize, Count)> {
        self.counts
            .iter()
            .copied()
            .find(|(_, count)| count.exceeded())
    }

    /// The count to report in `RateLimit-*` headers: the one closest to its limit.
    pub fn tightest(&self) -> Option<Count> {
        self.counts
            .iter()
            .map(|(_, count)| *count)
            .min_by_key(|count| (count.remaining(), count.reset))
    }
}

/// How long Redis is left alone after it failed to answer.
const REDIS_PAUSE: Duration = Duration::from_secs(1);

pub struct Limiter {
    redis: Arc<Batcher>,
    prefix: String,
    /// Unix milliseconds before which Redis is not tried.
    paused_until: Arc<AtomicU64>,
    local: LocalCounts,
}

impl Limiter {
    pub fn new(client: redis::Client, prefix: impl Into<String>, timeout: Duration) -> Self {
        let paused_until = Arc::new(AtomicU64::new(0));
        Self {
            redis: Arc::new(Batcher::new(client, timeout, Arc::clone(&paused_until))),
            prefix: prefix.into(),
            paused_until,
            local: LocalCounts::default(),
        }
    }

    /// Counts this request against `policies` (index and policy) for `ip` and `claims`, and
    /// reads whether the token was revoked.
    pub async fn check(
        &self,
        policies: &[(usize, &Policy)],
        ip: IpAddr,
        claims: Option<&Claims>,
    ) -> Verdict {
        if policies.is_empty() && claims.is_none() {
            return Verdict {
                counts: Vec::new(),
                revoked: None,
            };
        }
        let keys: Vec<String> = policies
            .iter()
            .map(|(_, policy)| self.counter_key(policy, ip, claims))
            .collect();
        if unix_millis() >= self.paused_until.load(Ordering::Relaxed) {
            let check = Check {
                token: claims.map(|claims| Token {
                    denylist_key: denylist_key(claims.jti),
                    revoked_before_key: revoked_before_key(claims.sub),
                    issued_at: claims.iat,
                }),
                counters: keys
                    .iter()
                    .zip(policies)
                    .map(|(key, (_, policy))| Counter {
                        key: key.clone(),
                        window_ms: u64::try_from(policy.window.as_millis()).unwrap_or(u64::MAX),
                    })
                    .collect(),
            };
            if let Ok(reply) = Batcher::check(&self.redis, check).await {
                return Verdict {
                    counts: policies
                        .iter()
                        .zip(reply.counts)
                        .map(|((index, policy), (used, ttl_ms))| {
                            (
                                *index,
                                Count {
                                    limit: policy.requests,
                                    used,
                                    reset: Duration::from_millis(ttl_ms),
                                },
                            )
                        })
                        .collect(),
                    revoked: claims.map(|_| reply.revoked),
                };
            }
        }
        Verdict {
            counts: policies
                .iter()
                .zip(&keys)
                .map(|((index, policy), key)| (*index, self.local.hit(key, policy)))
                .collect(),
            revoked: None,
        }
    }

    fn counter_key(&self, policy: &Policy, ip: IpAddr, claims: Option<&Claims>) -> String {
        format!(
            "{}rl:{}:{}",
            self.prefix,
            policy.name,
            policy.subject(ip, claims)
        )
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(requests: u64) -> Policy {
        Policy {
            name: "auth".into(),
            requests,
            window: Duration::from_secs(900),
            key: PolicyKey::Ip,
        }
    }

    #[test]
    fn the_tightest_count_is_reported() {
        let verdict = Verdict {
            counts: vec![
                (
                    0,
                    Count {
                        limit: 100,
                        used: 3,
                        reset: Duration::from_secs(800),
                    },
                ),
                (
                    1,
                    Count {
                        limit: 5,
                        used: 4,
                        reset: Duration::from_secs(30),
                    },
                ),
            ],
            revoked: None,
        };
        assert_eq!(verdict.tightest().unwrap().limit, 5);
        assert!(verdict.exceeded().is_none());
        let count = Count {
            limit: 5,
            used: 6,
            reset: Duration::from_millis(1),
        };
        assert!(count.exceeded());
        assert_eq!(count.remaining(), 0);
        assert_eq!(count.reset_secs(), 1);
    }

    #[test]
    fn users_are_counted_by_id_and_anonymous_callers_by_address() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let claims = auth_token::Claims::new(
            domain::UserId::new(),
            domain::Role::Customer,
            false,
            Duration::from_secs(60),
            "i",
            "a",
        );
        let per_user = Policy {
            key: PolicyKey::UserOrIp,
            ..policy(1)
        };
        assert_eq!(per_user.subject(ip, None), "ip:203.0.113.9");
        assert_eq!(
            per_user.subject(ip, Some(&claims)),
            format!("user:{}", claims.sub)
        );
        assert_eq!(policy(1).subject(ip, Some(&claims)), "ip:203.0.113.9");
    }
}
