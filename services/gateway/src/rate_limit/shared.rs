//! Batched counting: this replica's view of each shared count, for the policies whose requests
//! should not wait for Redis (`counting: batched`, the API policy).
//!
//! A request is counted in Redis like an exact one unless this replica has a view of the
//! subject's count that Redis brought up to date within the last 100 ms, as it does for any
//! subject sending requests steadily: then it is counted on the view (the count Redis last
//! returned, plus what this replica counted since), and the view's counts are sent to Redis in
//! the background within 20 ms, each answer bringing in the other replicas'
//! counts. A single replica therefore never lets more through than the limit; several replicas
//! together may let through, beyond it, what the others counted in the last tenth of a second.

use super::batch::{Batcher, Check, Counter};
use super::{Count, PerPolicy};
use async_trait::async_trait;
use foldhash::HashMap;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long counts gather before they are sent: the longest another replica goes without
/// hearing of them (plus one round trip to Redis). Well within `FRESH_FOR`, so a steady
/// subject's view stays usable. Each send wakes the sender's thread and runs the script in
/// Redis; at 5 ms, under steady traffic, that cost the gateway about 4 µs of CPU per request
/// (docs/benchmarks.md, "Gateway overhead").
const SEND_AFTER: Duration = Duration::from_millis(20);

/// How recently Redis must have brought a view up to date for requests to be counted on it.
const FRESH_FOR: Duration = Duration::from_millis(100);

/// Above this many views, those of ended windows are swept out when counts are sent.
const SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct SharedCounts {
    views: Mutex<HashMap<String, View>>,
    /// Counts are waiting to be sent and the sender has been woken for them.
    waiting: AtomicBool,
    wake: Notify,
}

/// One subject's count as this replica sees it.
#[derive(Debug, Clone, Copy)]
struct View {
    /// The count Redis last returned.
    known: u64,
    /// Counted here, not sent yet.
    unsent: u64,
    /// Sent, no answer yet.
    sending: u64,
    resets_at: Instant,
    window: Duration,
    /// When Redis last answered for this subject.
    refreshed_at: Instant,
}

impl View {
    fn used(&self) -> u64 {
        self.known + self.unsent + self.sending
    }

    /// Whether a request may be counted on this view: within its window, and either refreshed
    /// lately or with counts of ours on their way to Redis (whose answer refreshes it). The
    /// second matters: a request counted in Redis while our counts are in flight gets back a
    /// total that may or may not include them, and [`SharedCounts::learn`] cannot tell, so it
    /// would count them twice (seen under load: a replica refusing requests below the limit).
    fn usable(&self, now: Instant) -> bool {
        now < self.resets_at
            && (now.saturating_duration_since(self.refreshed_at) < FRESH_FOR
                || self.unsent + self.sending > 0)
    }
}

/// One key's counts on their way to Redis.
pub struct Sending {
    key: String,
    count: u64,
    window: Duration,
}

impl SharedCounts {
    /// Counts one request against each `(key, limit)` on the views, if every key has a fresh
    /// one; `None` (nothing counted) if any must be counted in Redis.
    pub fn count(&self, keys: &[(&str, u64)], now: Instant) -> Option<PerPolicy<Count>> {
        let mut views = self.lock();
        if keys
            .iter()
            .any(|(key, _)| !views.get(*key).is_some_and(|view| view.usable(now)))
        {
            return None;
        }
        let counts = keys
            .iter()
            .filter_map(|(key, limit)| {
                let view = views.get_mut(*key)?;
                view.unsent += 1;
                Some(Count {
                    limit: *limit,
                    used: view.used(),
                    reset: view.resets_at - now,
                })
            })
            .collect();
        drop(views);
        if !self.waiting.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
        Some(counts)
    }

    /// Takes in what Redis answered for `key` (its count after this replica's counts that were
    /// in that call) and returns the count as this replica sees it now.
    pub fn learn(
        &self,
        key: &str,
        limit: u64,
        (used, reset): (u64, Duration),
        window: Duration,
        now: Instant,
    ) -> Count {
        let mut views = self.lock();
        let fresh = View {
            known: used,
            unsent: 0,
            sending: 0,
            resets_at: now + reset,
            window,
            refreshed_at: now,
        };
        let view = views.entry(key.to_owned()).or_insert(fresh);
        if view.resets_at <= now {
            *view = fresh;
        }
        // Answers may come back out of order; within a window the count only grows.
        view.known = view.known.max(used);
        view.refreshed_at = now;
        Count {
            limit,
            used: view.used(),
            reset: view.resets_at - now,
        }
    }

    /// Moves every view's unsent counts to sending, and returns them.
    fn take_unsent(&self, now: Instant) -> Vec<Sending> {
        self.waiting.store(false, Ordering::Release);
        let mut views = self.lock();
        if views.len() > SWEEP_AT {
            views.retain(|_, view| view.resets_at > now || view.unsent + view.sending > 0);
        }
        views
            .iter_mut()
            .filter(|(_, view)| view.unsent > 0)
            .map(|(key, view)| {
                let count = std::mem::take(&mut view.unsent);
                view.sending += count;
                Sending {
                    key: key.clone(),
                    count,
                    window: view.window,
                }
            })
            .collect()
    }

    /// Settles counts that were sent: with Redis's answer (count, time left), or, when it did
    /// not answer, put back to be sent again.
    fn settle(&self, sent: &Sending, answer: Option<(u64, Duration)>, now: Instant) {
        let mut views = self.lock();
        let Some(view) = views.get_mut(&sent.key) else {
            return;
        };
        view.sending = view.sending.saturating_sub(sent.count);
        match answer {
            Some((used, reset)) => {
                view.known = view.known.max(used);
                view.resets_at = view.resets_at.min(now + reset);
                view.refreshed_at = now;
            }
            None => view.unsent += sent.count,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, View>> {
        match self.views.lock() {
            Ok(views) => views,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Sends the views' counts to Redis in the background, as a Pingora background service.
pub struct Sender {
    pub counts: Arc<SharedCounts>,
    pub redis: Arc<Batcher>,
}

impl Sender {
    async fn send(&self) {
        let now = Instant::now();
        let sending = self.counts.take_unsent(now);
        if sending.is_empty() {
            return;
        }
        let check = Check {
            token: None,
            counters: sending
                .iter()
                .map(|sent| Counter {
                    key: sent.key.clone(),
                    by: sent.count,
                    window_ms: u64::try_from(sent.window.as_millis()).unwrap_or(u64::MAX),
                })
                .collect(),
        };
        let answers = Batcher::check(&self.redis, check).await.ok();
        let now = Instant::now();
        for (index, sent) in sending.iter().enumerate() {
            let answer = answers
                .as_ref()
                .and_then(|reply| reply.counts.get(index))
                .map(|(used, ttl_ms)| (*used, Duration::from_millis(*ttl_ms)));
            self.counts.settle(sent, answer, now);
        }
    }
}

#[async_trait]
impl BackgroundService for Sender {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                () = self.counts.wake.notified() => {}
                _ = shutdown.changed() => {
                    // What was counted last still reaches Redis.
                    self.send().await;
                    return;
                }
            }
            tokio::time::sleep(SEND_AFTER).await;
            self.send().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn a_subject_is_learnt_from_redis_before_it_is_counted_here() {
        let counts = SharedCounts::default();
        let now = Instant::now();
        assert_eq!(counts.count(&[("k", 10)], now), None);
        let learnt = counts.learn("k", 10, (4, Duration::from_secs(600)), WINDOW, now);
        assert_eq!(learnt.used, 4);
        let counted = counts.count(&[("k", 10)], now).unwrap();
        assert_eq!(counted[0].used, 5);
        assert_eq!(counted[0].reset, Duration::from_secs(600));
        // A view for one key is not enough for a request counted under two.
        assert_eq!(counts.count(&[("k", 10), ("other", 10)], now), None);
        assert_eq!(counts.count(&[("k", 10)], now).unwrap()[0].used, 6);
    }

    #[test]
    fn counts_sent_and_answered_bring_in_the_other_replicas() {
        let counts = SharedCounts::default();
        let now = Instant::now();
        counts.learn("k", 100, (1, Duration::from_secs(600)), WINDOW, now);
        counts.count(&[("k", 100)], now);
        counts.count(&[("k", 100)], now);
        let sending = counts.take_unsent(now);
        assert_eq!(sending.len(), 1);
        assert_eq!(sending[0].count, 2);
        assert!(counts.take_unsent(now).is_empty(), "sent once");
        // Counted meanwhile: one more.
        assert_eq!(counts.count(&[("k", 100)], now).unwrap()[0].used, 4);
        // Redis: our two, plus five from another replica.
        counts.settle(&sending[0], Some((8, Duration::from_secs(599))), now);
        assert_eq!(counts.count(&[("k", 100)], now).unwrap()[0].used, 10);
    }

    #[test]
    fn counts_redis_did_not_take_are_sent_again() {
        let counts = SharedCounts::default();
        let now = Instant::now();
        counts.learn("k", 100, (1, Duration::from_secs(600)), WINDOW, now);
        counts.count(&[("k", 100)], now);
        let sending = counts.take_unsent(now);
        counts.settle(&sending[0], None, now);
        let again = counts.take_unsent(now);
        assert_eq!(again[0].count, 1);
    }

    #[test]
    fn a_view_redis_has_not_refreshed_lately_is_not_used() {
        let counts = SharedCounts::default();
        let now = Instant::now();
        counts.learn("k", 100, (1, WINDOW), WINDOW, now);
        let stale = now + FRESH_FOR;
        assert_eq!(counts.count(&[("k", 100)], stale), None);
        // An answer to counts sent brings it up to date again.
        counts.count(&[("k", 100)], now);
        let sending = counts.take_unsent(now);
        counts.settle(&sending[0], Some((2, WINDOW)), stale);
        assert_eq!(counts.count(&[("k", 100)], stale).unwrap()[0].used, 3);
    }

    #[test]
    fn a_view_with_counts_on_their_way_is_used_however_long_redis_takes() {
        // Sent, not answered yet, and Redis slow to answer: had the request gone to Redis, its
        // total (1 learnt + 1 sent + itself = 3) would have been taken with the 1 still sending
        // added on top, 4; on the view it is 3, and it stays 3 once the answer arrives.
        let counts = SharedCounts::default();
        let now = Instant::now();
        counts.learn("k", 100, (1, WINDOW), WINDOW, now);
        counts.count(&[("k", 100)], now);
        let sending = counts.take_unsent(now);
        let slow = now + FRESH_FOR * 2;
        assert_eq!(counts.count(&[("k", 100)], slow).unwrap()[0].used, 3);
        counts.settle(&sending[0], Some((2, WINDOW)), slow);
        assert_eq!(counts.count(&[("k", 100)], slow).unwrap()[0].used, 4);
    }

    #[test]
    fn a_view_ends_with_its_window() {
        let counts = SharedCounts::default();
        let now = Instant::now();
        counts.learn("k", 100, (50, Duration::from_millis(10)), WINDOW, now);
        assert!(counts.count(&[("k", 100)], now).is_some());
        let later = now + Duration::from_millis(11);
        assert_eq!(counts.count(&[("k", 100)], later), None);
        // The next window starts from what Redis says.
        let learnt = counts.learn("k", 100, (1, WINDOW), WINDOW, later);
        assert_eq!(learnt.used, 1);
    }
}
