//! What one socket may do: events per second (a token bucket), the size of an event, and the
//! number of rooms; and what one address may do: handshakes (new sessions) per minute, counted
//! in Redis so that every replica shares one count. Each refusal is answered (an error ack, or a
//! 429 to the handshake) and counted (`realtime_refusals_total{reason}`).

use platform::redis::RedisPool;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A socket's allowance of events: `burst` at once, refilled at `per_second`.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    refilled: Instant,
}

impl TokenBucket {
    #[must_use]
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            refilled: Instant::now(),
        }
    }

    /// Takes one event's token at `now`; `false` when none is left.
    pub fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }
}

/// The limits of every socket, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub events_per_second: u32,
    pub event_burst: u32,
    pub max_event_bytes: usize,
    pub max_rooms: usize,
}

/// Why an event was refused, as counted and answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Rate,
    PayloadSize,
    Rooms,
    Handshakes,
}

impl Refused {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::PayloadSize => "payload_size",
            Self::Rooms => "rooms",
            Self::Handshakes => "handshakes",
        }
    }

    /// Counts the refusal.
    pub fn count(self) {
        metrics::counter!("realtime_refusals_total", "reason" => self.as_str()).increment(1);
    }
}

/// How long Redis may take to count a handshake before it is let through uncounted.
const COUNT_WITHIN: Duration = Duration::from_millis(250);

/// Handshakes per client address and minute, across every replica (a fixed window in Redis:
/// `<prefix>:handshakes:<ip>`). The gateway's limits are per route and cannot tell a handshake
/// (no `sid`) from the requests of an open session, so realtime counts them itself, by the
/// address the gateway determined (`X-Forwarded-For`).
pub struct HandshakeLimit {
    redis: RedisPool,
    prefix: String,
    per_minute: u64,
}

/// A handshake refused: when the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyHandshakes {
    pub retry_after_secs: u64,
}

impl HandshakeLimit {
    /// `per_minute` handshakes per address; 0 lets every handshake through (local runs, load
    /// tests from one address).
    pub fn new(redis: RedisPool, prefix: &str, per_minute: u64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            per_minute,
        }
    }

    /// Counts a handshake from `ip`; `Err` when the address is over its limit. When Redis
    /// cannot count in time the handshake passes (counted as unchecked): the limit guards
    /// against floods, and refusing every client during a Redis outage would be worse.
    pub async fn check(&self, ip: Option<IpAddr>) -> Result<(), TooManyHandshakes> {
        let Some(ip) = ip.filter(|_| self.per_minute > 0) else {
            return Ok(());
        };
        let key = format!("{}:handshakes:{ip}", self.prefix);
        let counted = tokio::time::timeout(COUNT_WITHIN, async {
            let mut conn = self.redis.get().await.map_err(|err| err.to_string())?;
            let (count, ttl): (u64, i64) = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("EX")
                .arg(60)
                .arg("NX")
                .ignore()
                .cmd("INCR")
                .arg(&key)
                .cmd("TTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|err| err.to_string())?;
            Ok::<_, String>((count, ttl))
        })
        .await
        .unwrap_or_else(|_| Err("no answer in time".into()));
        match counted {
            Ok((count, _)) if count <= self.per_minute => Ok(()),
            Ok((_, ttl)) => {
                Refused::Handshakes.count();
                Err(TooManyHandshakes {
                    retry_after_secs: u64::try_from(ttl).unwrap_or(1).clamp(1, 60),
                })
            }
            Err(error) => {
                tracing::warn!(%error, "a handshake let through uncounted");
                metrics::counter!("realtime_handshakes_unchecked_total").increment(1);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3);
        assert!((0..3).all(|_| bucket.take_at(start)));
        assert!(!bucket.take_at(start), "the burst is spent");
        // A tenth of a second buys one event at 10 a second.
        assert!(bucket.take_at(start + Duration::from_millis(100)));
        assert!(!bucket.take_at(start + Duration::from_millis(100)));
        // Idle time refills up to the burst, no further.
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.take_at(later)));
        assert!(!bucket.take_at(later));
    }
}
