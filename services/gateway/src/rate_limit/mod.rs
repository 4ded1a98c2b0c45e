//! Rate limits (DESIGN §6) and the token revocation check, counted in Redis so that all
//! gateway replicas share one count: a Lua script counts every policy a request's route has and
//! reads the deny-list entries, atomically. Windows are fixed: the first request of a window
//! starts it, and it resets `window` later.
//!
//! A policy is counted in one of two ways (`counting` in the routes file):
//! - `exact` (the default; logins, orders): each request is counted in Redis before it passes,
//!   so replicas together never let more through than the limit. Requests that arrive together
//!   share one script call (`batch`).
//! - `batched` (the API policy, on nearly every request): the request is counted on this
//!   replica's view of the shared count, which is sent to Redis in the background within
//!   milliseconds (`shared`). A request whose policies are all batched, and whose token is
//!   known to stand (`revocation`), passes without waiting for Redis.
//!
//! When Redis does not answer within the configured time, a per-process limiter takes over so
//! requests keep flowing (each replica then counts on its own) and the deny-list is not
//! consulted (services still verify every token's signature and expiry). Redis is retried
//! after a short pause rather than on every request.

mod batch;
mod local;
mod shared;

use crate::revocation::{Revocations, Verified};
use auth_token::Claims;
use auth_token::revocation::{denylist_key, token_version_key};
use batch::{Batcher, Check, Counter, Token};
use domain::Role;
use local::LocalCounts;
pub use shared::Sender;
use shared::SharedCounts;
use smallvec::SmallVec;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One named limit from the routes file.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub requests: u64,
    pub window: Duration,
    pub key: PolicyKey,
    pub counting: Counting,
    /// Limits of their own for signed-in callers of these roles, on a `user_or_ip` policy:
    /// staff working the ID queue or the orders board, and drivers' apps, make many more
    /// calls than a customer shopping.
    pub by_role: Vec<(Role, u64)>,
}

/// How a policy's requests are counted (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// In Redis, before the request passes.
    Exact,
    /// On this replica's view, sent to Redis in the background.
    Batched,
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
    /// The limit for this caller: its role's own on a per-user policy, else `requests`.
    pub fn limit(&self, claims: Option<&Claims>) -> u64 {
        match (self.key, claims) {
            (PolicyKey::UserOrIp, Some(claims)) => self
                .by_role
                .iter()
                .find(|(role, _)| *role == claims.role)
                .map_or(self.requests, |(_, limit)| *limit),
            _ => self.requests,
        }
    }

    /// The counter's subject for this caller (the keys build it in place: `push_subject`).
    #[cfg(test)]
    fn subject(&self, ip: IpAddr, claims: Option<&Claims>) -> String {
        let mut subject = String::new();
        self.push_subject(&mut subject, ip, claims);
        subject
    }

    /// The counter's subject for this caller, onto `key`: a user's id is encoded straight in,
    /// without the formatting machinery (once per request).
    fn push_subject(&self, key: &mut String, ip: IpAddr, claims: Option<&Claims>) {
        match (self.key, claims) {
            (PolicyKey::UserOrIp, Some(claims)) => {
                key.push_str("user:");
                key.push_str(
                    claims
                        .sub
                        .hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer()),
                );
            }
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(key, "ip:{ip}");
            }
        }
    }
}

/// An exact per-IP policy of `requests` in 15 minutes, for the module's tests.
#[cfg(test)]
fn test_policy(requests: u64) -> Policy {
    Policy {
        name: "auth".into(),
        requests,
        window: Duration::from_secs(900),
        key: PolicyKey::Ip,
        counting: Counting::Exact,
        by_role: Vec::new(),
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

/// A route's policies hold one or two items: kept inline, without an allocation per request.
pub type PerPolicy<T> = SmallVec<[T; 2]>;

/// What the edge learnt about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// One per policy, in the route's order.
    pub counts: PerPolicy<(usize, Count)>,
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
    shared: Arc<SharedCounts>,
    revocations: Arc<Revocations>,
    prefix: String,
    /// Unix milliseconds before which Redis is not tried.
    paused_until: Arc<AtomicU64>,
    local: LocalCounts,
}

impl Limiter {
    pub fn new(
        client: redis::Client,
        prefix: impl Into<String>,
        timeout: Duration,
        revocations: Arc<Revocations>,
    ) -> Self {
        let paused_until = Arc::new(AtomicU64::new(0));
        Self {
            redis: Arc::new(Batcher::new(client, timeout, Arc::clone(&paused_until))),
            shared: Arc::default(),
            revocations,
            prefix: prefix.into(),
            paused_until,
            local: LocalCounts::default(),
        }
    }

    /// The background service that sends batched counts to Redis; the server must run it.
    pub fn sender(&self) -> Sender {
        Sender {
            counts: Arc::clone(&self.shared),
            redis: Arc::clone(&self.redis),
        }
    }

    /// Counts this request against `policies` (index and policy) for `ip` and `token`, and
    /// tells whether the token was revoked.
    pub async fn check(
        &self,
        policies: &[(usize, &Policy)],
        ip: IpAddr,
        token: Option<&Verified>,
    ) -> Verdict {
        let claims = token.map(|token| &token.claims);
        if policies.is_empty() && token.is_none() {
            return Verdict {
                counts: PerPolicy::new(),
                revoked: None,
            };
        }
        let keys: PerPolicy<String> = policies
            .iter()
            .map(|(_, policy)| self.counter_key(policy, ip, claims))
            .collect();
        if let Some(verdict) = self.check_here(policies, &keys, token) {
            return verdict;
        }
        // Boxed: most requests are answered above, and should not carry the Redis round
        // trip's future.
        if unix_millis() >= self.paused_until.load(Ordering::Relaxed)
            && let Some(verdict) = Box::pin(self.check_in_redis(policies, &keys, token)).await
        {
            return verdict;
        }
        Verdict {
            counts: policies
                .iter()
                .zip(&keys)
                .map(|((index, policy), key)| {
                    (*index, self.local.hit(key, policy, policy.limit(claims)))
                })
                .collect(),
            revoked: None,
        }
    }

    /// The verdict without Redis, when every policy is batched with a view of its count and
    /// the token (if any) is known to stand or to be revoked.
    fn check_here(
        &self,
        policies: &[(usize, &Policy)],
        keys: &[String],
        token: Option<&Verified>,
    ) -> Option<Verdict> {
        if policies
            .iter()
            .any(|(_, policy)| policy.counting != Counting::Batched)
        {
            return None;
        }
        let stands = match token {
            Some(token) => self.revocations.stands(token)?,
            None => true,
        };
        let revoked = token.map(|_| !stands);
        if !stands {
            return Some(Verdict {
                counts: PerPolicy::new(),
                revoked,
            });
        }
        let claims = token.map(|token| &token.claims);
        let limits: PerPolicy<(&str, u64)> = keys
            .iter()
            .zip(policies)
            .map(|(key, (_, policy))| (key.as_str(), policy.limit(claims)))
            .collect();
        let counts = self.shared.count(&limits, Instant::now())?;
        Some(Verdict {
            counts: policies
                .iter()
                .map(|(index, _)| *index)
                .zip(counts)
                .collect(),
            revoked,
        })
    }

    /// Counts the request in Redis and reads the token's deny-list entries; `None` when Redis
    /// did not answer.
    async fn check_in_redis(
        &self,
        policies: &[(usize, &Policy)],
        keys: &[String],
        token: Option<&Verified>,
    ) -> Option<Verdict> {
        // Taken before Redis is asked: a revocation Redis does not show yet is announced
        // after this, to a subscription that is already listening.
        let session = self.revocations.session();
        let check = Check {
            token: token.map(|token| Token {
                denylist_key: denylist_key(token.claims.jti),
                version_key: token_version_key(token.claims.sub),
                version: token.claims.ver,
            }),
            counters: keys
                .iter()
                .zip(policies)
                .map(|(key, (_, policy))| Counter {
                    key: key.clone(),
                    by: 1,
                    window_ms: u64::try_from(policy.window.as_millis()).unwrap_or(u64::MAX),
                })
                .collect(),
        };
        let reply = Batcher::check(&self.redis, check).await.ok()?;
        let now = Instant::now();
        let counts = policies
            .iter()
            .zip(keys)
            .zip(reply.counts)
            .map(|(((index, policy), key), (used, ttl_ms))| {
                let reset = Duration::from_millis(ttl_ms);
                let limit = policy.limit(token.map(|token| &token.claims));
                let count = match policy.counting {
                    Counting::Exact => Count { limit, used, reset },
                    Counting::Batched => {
                        self.shared
                            .learn(key, limit, (used, reset), policy.window, now)
                    }
                };
                (*index, count)
            })
            .collect();
        let revoked = token.map(|token| {
            let revoked = reply.revoked || self.revocations.voided(&token.claims);
            if let (false, Some(session)) = (revoked, session) {
                self.revocations.confirm(token, session);
            }
            revoked
        });
        Some(Verdict { counts, revoked })
    }

    fn counter_key(&self, policy: &Policy, ip: IpAddr, claims: Option<&Claims>) -> String {
        // `{prefix}rl:{policy}:{subject}`, in one allocation (a subject is at most 42 bytes).
        let mut key = String::with_capacity(self.prefix.len() + policy.name.len() + 48);
        key.push_str(&self.prefix);
        key.push_str("rl:");
        key.push_str(&policy.name);
        key.push(':');
        policy.push_subject(&mut key, ip, claims);
        key
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
    use test_policy as policy;

    #[test]
    fn the_tightest_count_is_reported() {
        let verdict = Verdict {
            counts: smallvec::smallvec![
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

    #[test]
    fn a_role_with_its_own_limit_gets_it_and_everyone_else_the_policys() {
        let claims = |role| {
            auth_token::Claims::new(
                domain::UserId::new(),
                role,
                true,
                Duration::from_secs(60),
                "i",
                "a",
            )
        };
        let api = Policy {
            key: PolicyKey::UserOrIp,
            by_role: vec![(Role::Admin, 3000), (Role::Driver, 1800)],
            ..policy(100)
        };
        assert_eq!(api.limit(None), 100);
        assert_eq!(api.limit(Some(&claims(Role::Customer))), 100);
        assert_eq!(api.limit(Some(&claims(Role::Admin))), 3000);
        assert_eq!(api.limit(Some(&claims(Role::Driver))), 1800);
        // A per-address policy counts an address, whoever signed in behind it.
        let per_ip = Policy {
            by_role: vec![(Role::Admin, 3000)],
            ..policy(5)
        };
        assert_eq!(per_ip.limit(Some(&claims(Role::Admin))), 5);
    }
}
