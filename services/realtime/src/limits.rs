//! What one socket may do: events per second (a token bucket), the size of an event, and the
//! number of rooms. Each refusal is answered with an error ack and counted
//! (`realtime_refusals_total{reason}`).

use std::time::Instant;

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
}

impl Refused {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::PayloadSize => "payload_size",
            Self::Rooms => "rooms",
        }
    }

    /// Counts the refusal.
    pub fn count(self) {
        metrics::counter!("realtime_refusals_total", "reason" => self.as_str()).increment(1);
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
