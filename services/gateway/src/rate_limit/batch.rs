//! Counting in Redis, one script call for the requests that arrive together.
//!
//! Each worker thread queues its requests' checks; while one script call is out, the checks
//! that arrive meanwhile wait for it to come back and then all go in the next call (as a
//! database's group commit does). An idle gateway therefore sends each check at once, and a
//! busy one sends far fewer calls than requests: Redis runs one script per call rather than per
//! request, and the gateway pays one round trip, one reply to parse and one timer per call.
//! Counting stays exact: the script counts each request in turn, atomically.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::oneshot;

use super::{REDIS_PAUSE, unix_millis};

/// ARGV[1] is the number of checks; then, for each, the token's version (`''` without a
/// token), the number of counters and, for each counter, the amount to add and its window in
/// milliseconds. KEYS hold, for each check, the two revocation keys and the counters' keys. The
/// answer holds, for each check, whether the token is revoked, then the count and the time
/// left for each counter.
const SCRIPT: &str = r"
local out = {}
local k, a = 1, 2
for _ = 1, tonumber(ARGV[1]) do
  local version = ARGV[a]
  local counters = tonumber(ARGV[a + 1])
  a = a + 2
  local revoked = 0
  if version ~= '' then
    if redis.call('EXISTS', KEYS[k]) == 1 then revoked = 1 end
    local standing = redis.call('GET', KEYS[k + 1])
    if standing and tonumber(version) < tonumber(standing) then revoked = 1 end
  end
  k = k + 2
  out[#out + 1] = revoked
  for _ = 1, counters do
    local used = redis.call('INCRBY', KEYS[k], ARGV[a])
    local ttl = redis.call('PTTL', KEYS[k])
    if ttl < 0 then
      ttl = tonumber(ARGV[a + 1])
      redis.call('PEXPIRE', KEYS[k], ttl)
    end
    out[#out + 1] = used
    out[#out + 1] = ttl
    k = k + 1
    a = a + 2
  end
end
return out
";

/// Most checks one call carries; more wait for the next call.
const MAX_BATCH: usize = 128;

/// What one request asks of Redis.
pub struct Check {
    pub token: Option<Token>,
    pub counters: Vec<Counter>,
}

/// Where auth records a token's revocation, and the token's version to compare.
pub struct Token {
    pub denylist_key: String,
    pub version_key: String,
    pub version: u64,
}

pub struct Counter {
    pub key: String,
    /// Requests to add: 1 for a request counted as it comes, more for a batch of counts.
    pub by: u64,
    pub window_ms: u64,
}

/// What Redis answered for one check.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub revoked: bool,
    /// (count after this request, milliseconds until the window resets), per counter.
    pub counts: Vec<(u64, u64)>,
}

/// The check was not counted in Redis (down, slow or answering nonsense).
#[derive(Debug, thiserror::Error)]
#[error("Redis did not count the request")]
pub struct Unanswered;

#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("the rate-limit script answered {0} values, fewer than the checks need")]
    Short(usize),
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
}

struct Waiting {
    check: Check,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A task is sending this queue's checks; it sends what arrives meanwhile too.
    flushing: bool,
}

type SharedQueue = Arc<Mutex<Queue>>;

static NEXT_BATCHER: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Each thread's queue per batcher. The queue is shared with the task that sends it, so it
    /// is sent whichever thread that task runs on; in the gateway (one runtime per thread) it
    /// is the same thread, and the lock is never contended.
    static QUEUES: RefCell<HashMap<usize, SharedQueue>> = RefCell::new(HashMap::new());
    /// One multiplexed connection per batcher and thread, opened on first use, whose task runs
    /// on the thread that uses it: no reply has to wake another thread.
    static CONNECTIONS: RefCell<HashMap<usize, ConnectionManager>> = RefCell::new(HashMap::new());
}

pub struct Batcher {
    /// Tells this batcher's queues and connections apart from another's.
    id: usize,
    client: redis::Client,
    script: redis::Script,
    timeout: Duration,
    /// Unix milliseconds before which Redis is not tried (shared with the limiter).
    paused_until: Arc<AtomicU64>,
}

impl Batcher {
    pub fn new(client: redis::Client, timeout: Duration, paused_until: Arc<AtomicU64>) -> Self {
        Self {
            id: NEXT_BATCHER.fetch_add(1, Ordering::Relaxed),
            client,
            script: redis::Script::new(SCRIPT),
            timeout,
            paused_until,
        }
    }

    /// Counts `check` in Redis with the checks that arrive with it.
    pub async fn check(this: &Arc<Self>, check: Check) -> Result<Reply, Unanswered> {
        let queue = QUEUES.with_borrow_mut(|queues| Arc::clone(queues.entry(this.id).or_default()));
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = lock(&queue);
            state.waiting.push(Waiting { check, reply });
            !std::mem::replace(&mut state.flushing, true)
        };
        if start {
            tokio::spawn(Arc::clone(this).flush(queue));
        }
        answer.await.map_err(|_| Unanswered)
    }

    /// Sends the queue's checks, one call at a time, until none is left.
    async fn flush(self: Arc<Self>, queue: SharedQueue) {
        let _flushing = Flushing(Arc::clone(&queue));
        loop {
            let batch: Vec<Waiting> = {
                let mut state = lock(&queue);
                let take = state.waiting.len().min(MAX_BATCH);
                state.waiting.drain(..take).collect()
            };
            if batch.is_empty() {
                return;
            }
            let outcome = match tokio::time::timeout(self.timeout, self.call(&batch)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(CallError::TimedOut(self.timeout)),
            };
            match outcome {
                Ok(replies) => {
                    for (waiting, reply) in batch.into_iter().zip(replies) {
                        // The request may have gone (its client left): nothing to tell it.
                        let _ = waiting.reply.send(reply);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "rate limits fall back to memory");
                    metrics::counter!("gateway_rate_limit_fallback_total").increment(1);
                    let pause = u64::try_from(REDIS_PAUSE.as_millis()).unwrap_or(u64::MAX);
                    self.paused_until
                        .store(unix_millis().saturating_add(pause), Ordering::Relaxed);
                    // Dropping the senders tells this batch and every check queued behind it
                    // to count in memory.
                    return;
                }
            }
        }
    }

    async fn call(&self, batch: &[Waiting]) -> Result<Vec<Reply>, CallError> {
        let mut connection = self.connection()?;
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(batch.len());
        for Waiting { check, .. } in batch {
            match &check.token {
                Some(token) => {
                    invocation
                        .key(&token.denylist_key)
                        .key(&token.version_key)
                        .arg(token.version);
                }
                None => {
                    invocation.key("").key("").arg("");
                }
            }
            invocation.arg(check.counters.len());
            for counter in &check.counters {
                invocation
                    .key(&counter.key)
                    .arg(counter.by)
                    .arg(counter.window_ms);
            }
        }
        let values: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        replies(batch.iter().map(|waiting| &waiting.check), &values)
    }

    /// This thread's connection, created (lazily: it connects on first use) if there is none.
    fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        CONNECTIONS.with_borrow_mut(|connections| {
            if let Some(connection) = connections.get(&self.id) {
                return Ok(connection.clone());
            }
            // The call as a whole is bounded by `timeout`; no second timer per command.
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(None)
                .set_number_of_retries(1);
            let connection = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
            connections.insert(self.id, connection.clone());
            Ok(connection)
        })
    }
}

/// Splits the script's answer into each check's reply.
fn replies<'a>(
    checks: impl ExactSizeIterator<Item = &'a Check> + Clone,
    values: &[i64],
) -> Result<Vec<Reply>, CallError> {
    let needed: usize = checks
        .clone()
        .map(|check| 1 + 2 * check.counters.len())
        .sum();
    if values.len() < needed {
        return Err(CallError::Short(values.len()));
    }
    let mut values = values
        .iter()
        .map(|value| u64::try_from(*value).unwrap_or(0));
    let mut next = move || values.next().unwrap_or(0);
    Ok(checks
        .map(|check| Reply {
            revoked: next() == 1,
            counts: check.counters.iter().map(|_| (next(), next())).collect(),
        })
        .collect())
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    match queue.lock() {
        Ok(state) => state,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Marks the queue as no longer being sent when the sending task ends, however it ends; checks
/// still queued then (the task was cancelled, or Redis failed) are answered "unanswered" by
/// dropping them, so no request waits on a task that is gone.
struct Flushing(SharedQueue);

impl Drop for Flushing {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        state.flushing = false;
        state.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(counters: usize) -> Check {
        Check {
            token: None,
            counters: (0..counters)
                .map(|i| Counter {
                    key: format!("k{i}"),
                    by: 1,
                    window_ms: 1000,
                })
                .collect(),
        }
    }

    #[test]
    fn the_answer_is_split_check_by_check() {
        let checks = [check(2), check(0), check(1)];
        let replies = replies(checks.iter(), &[0, 1, 900, 7, 50, 1, 0, 3, 10]).unwrap();
        assert_eq!(
            replies,
            [
                Reply {
                    revoked: false,
                    counts: vec![(1, 900), (7, 50)]
                },
                Reply {
                    revoked: true,
                    counts: vec![]
                },
                Reply {
                    revoked: false,
                    counts: vec![(3, 10)]
                },
            ]
        );
    }

    #[test]
    fn a_short_answer_is_an_error_not_a_guess() {
        let checks = [check(2)];
        assert!(matches!(
            replies(checks.iter(), &[0, 1, 900, 7]),
            Err(CallError::Short(_))
        ));
    }
}
