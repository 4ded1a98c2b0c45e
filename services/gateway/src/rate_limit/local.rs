//! The per-process fallback while Redis is unreachable: fixed windows in a map, swept when it
//! grows.

use super::{Count, Policy};
use foldhash::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct LocalCounts(Mutex<HashMap<String, (u64, Instant)>>);

/// Above this many keys, expired windows are swept out on the next hit.
const LOCAL_SWEEP_AT: usize = 50_000;

impl LocalCounts {
    pub fn hit(&self, key: &str, policy: &Policy, limit: u64) -> Count {
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
            limit,
            used: entry.0,
            reset: entry.1 - now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::test_policy as policy;
    use std::time::Duration;

    #[test]
    fn the_local_fallback_counts_per_key_and_window() {
        let local = LocalCounts::default();
        let policy = policy(5);
        for used in 1..=5 {
            let count = local.hit("a", &policy, policy.requests);
            assert_eq!(count.used, used);
            assert!(!count.exceeded());
        }
        assert!(local.hit("a", &policy, policy.requests).exceeded());
        assert_eq!(local.hit("b", &policy, policy.requests).used, 1);
    }

    #[test]
    fn the_local_fallback_starts_a_new_window_after_reset() {
        let local = LocalCounts::default();
        let policy = Policy {
            window: Duration::from_millis(1),
            ..policy(1)
        };
        local.hit("a", &policy, policy.requests);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(local.hit("a", &policy, policy.requests).used, 1);
    }
}
