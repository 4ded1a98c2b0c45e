//! Rate limits (DESIGN §6) and the token revocation check, in one Redis round trip per
//! request: a Lua script counts every policy the route has and reads the deny-list entries,
//! atomically, so that all gateway replicas share one count. Windows are fixed: the first
//! request of a window starts it, and it resets `window` later.
//!
//! When Redis does not answer within the configured time, a per-process limiter takes over so
//! requests keep flowing (each replica then counts on its own) and the deny-list is not
//! consulted (services still verify every token's signature and expiry). Redis is retried
//! after a short pause rather than on every request.

use auth_token::Claims;
use auth_token::revocation::{denylist_key, revoked_before_key};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

const SCRIPT: &str = r"
local revoked = 0
if ARGV[1] ~= '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then revoked = 1 end
  local before = redis.call('GET', KEYS[2])
  if before and tonumber(ARGV[1]) <= tonumber(before) then revoked = 1 end
end
local out = { revoked }
for i = 3, #KEYS do
  local used = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    ttl = tonumber(ARGV[i - 1])
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  out[#out + 1] = used
  out[#out + 1] = ttl
end
return out
";

/// How long Redis is left alone after it failed to answer.
const REDIS_PAUSE: Duration = Duration::from_secs(1);

pub struct Limiter {
    /// Tells this limiter's connections apart from another's in the per-thread map.
    id: usize,
    client: redis::Client,
    script: redis::Script,
    prefix: String,
    timeout: Duration,
    /// Unix milliseconds before which Redis is not tried.
    paused_until: AtomicU64,
    local: LocalCounts,
}

static NEXT_LIMITER: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// One multiplexed connection per limiter and worker thread, opened on first use: the
    /// thread's concurrent requests pipeline their scripts on its socket, and its task runs on
    /// the thread whose requests use it, so no reply has to wake another thread.
    static CONNECTIONS: RefCell<HashMap<usize, ConnectionManager>> = RefCell::new(HashMap::new());
}

impl Limiter {
    pub fn new(client: redis::Client, prefix: impl Into<String>, timeout: Duration) -> Self {
        Self {
            id: NEXT_LIMITER.fetch_add(1, Ordering::Relaxed),
            client,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.into(),
            timeout,
            paused_until: AtomicU64::new(0),
            local: LocalCounts::default(),
        }
    }

    /// This thread's connection, created (lazily: it connects on first use) if there is none.
    fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        CONNECTIONS.with_borrow_mut(|connections| {
            if let Some(connection) = connections.get(&self.id) {
                return Ok(connection.clone());
            }
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1);
            let connection = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
            connections.insert(self.id, connection.clone());
            Ok(connection)
        })
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
        let now = unix_millis();
        if now >= self.paused_until.load(Ordering::Relaxed) {
            match tokio::time::timeout(self.timeout, self.check_redis(policies, ip, claims)).await {
                Ok(Ok(verdict)) => return verdict,
                Ok(Err(err)) => tracing::warn!(error = %err, "rate limits fall back to memory"),
                Err(_) => tracing::warn!("Redis too slow; rate limits fall back to memory"),
            }
            let pause = u64::try_from(REDIS_PAUSE.as_millis()).unwrap_or(u64::MAX);
            self.paused_until.store(now + pause, Ordering::Relaxed);
            metrics::counter!("gateway_rate_limit_fallback_total").increment(1);
        }
        Verdict {
            counts: policies
                .iter()
                .map(|(index, policy)| {
                    let key = self.counter_key(policy, ip, claims);
                    (*index, self.local.hit(&key, policy))
                })
                .collect(),
            revoked: None,
        }
    }

    async fn check_redis(
        &self,
        policies: &[(usize, &Policy)],
        ip: IpAddr,
        claims: Option<&Claims>,
    ) -> Result<Verdict, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.connection()?;
        let mut invocation = self.script.prepare_invoke();
        match claims {
            Some(claims) => {
                invocation
                    .key(denylist_key(claims.jti))
                    .key(revoked_before_key(claims.sub))
                    .arg(claims.iat);
            }
            None => {
                invocation.key("").key("").arg("");
            }
        }
        for (_, policy) in policies {
            invocation
                .key(self.counter_key(policy, ip, claims))
                .arg(u64::try_from(policy.window.as_millis()).unwrap_or(u64::MAX));
        }
        let reply: Vec<i64> = invocation.invoke_async(&mut conn).await?;
        let revoked = claims.map(|_| reply.first().copied() == Some(1));
        let counts = policies
            .iter()
            .zip(reply.get(1..).unwrap_or_default().chunks_exact(2))
            .map(|((index, policy), pair)| {
                let used = u64::try_from(pair[0]).unwrap_or(0);
                let ttl = u64::try_from(pair[1]).unwrap_or(0);
                (
                    *index,
                    Count {
                        limit: policy.requests,
                        used,
                        reset: Duration::from_millis(ttl),
                    },
                )
            })
            .collect::<Vec<_>>();
        if counts.len() != policies.len() {
            return Err("the rate-limit script answered too few counts".into());
        }
        Ok(Verdict { counts, revoked })
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

/// The per-process fallback: fixed windows in a map, swept when it grows.
#[derive(Default)]
struct LocalCounts(Mutex<HashMap<String, (u64, Instant)>>);

/// Above this many keys, expired windows are swept out on the next hit.
const LOCAL_SWEEP_AT: usize = 50_000;

impl LocalCounts {
    fn hit(&self, key: &str, policy: &Policy) -> Count {
        let now = Instant::now();
        let mut map = match self.0.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() > LOCAL_SWEEP_AT {
            map.retain(|_, (_, reset_at)| *reset_at > now);
        }
        let entry = map
            .entry(key.to_owned())
            .or_insert((0, now + policy.window));
        if entry.1 <= now {
            *entry = (0, now + policy.window);
        }
        entry.0 += 1;
        Count {
            limit: policy.requests,
            used: entry.0,
            reset: entry.1 - now,
        }
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
    fn the_local_fallback_counts_per_key_and_window() {
        let local = LocalCounts::default();
        let policy = policy(5);
        for used in 1..=5 {
            let count = local.hit("a", &policy);
            assert_eq!(count.used, used);
            assert!(!count.exceeded());
        }
        assert!(local.hit("a", &policy).exceeded());
        assert_eq!(local.hit("b", &policy).used, 1);
    }

    #[test]
    fn the_local_fallback_starts_a_new_window_after_reset() {
        let local = LocalCounts::default();
        let policy = Policy {
            window: Duration::from_millis(1),
            ..policy(1)
        };
        local.hit("a", &policy);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(local.hit("a", &policy).used, 1);
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
