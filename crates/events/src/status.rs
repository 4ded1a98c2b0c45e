//! What the event bus says about itself: each consumer's state, for `/health` and Prometheus.
//!
//! A consumer is *attached* from the moment the broker accepted its `basic.consume` until its
//! channel or connection goes; then it reconnects by itself. `/health` is ready only while
//! every consumer is attached; otherwise it is degraded and names each consumer that is not,
//! with its lag: how long it has gone without consuming. Per queue, Prometheus gets
//! `events_consumer_attached` (1 or 0), `events_consumer_detached_seconds` (the time since it
//! was last attached; 0 while it is) and `events_consumer_attachments_total`.

use crate::broker::Broker;
use platform::health::{Outcome, Status};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One consumer as `/health` and the metrics see it.
pub(crate) struct ConsumerState {
    queue: String,
    inner: Mutex<Inner>,
}

struct Inner {
    phase: Phase,
    /// When the phase began: for a consumer that is not attached, the last moment it was (or
    /// when it was created, if it never was).
    since: Instant,
    /// Why it last lost (or could not reach) its queue.
    last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not attached yet since the service started.
    Starting,
    Attached,
    /// Lost its channel or connection, or cannot reach the broker; retrying with backoff.
    Reconnecting,
    /// Stopped with the service.
    Stopped,
}

impl Phase {
    const fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Attached => "attached",
            Self::Reconnecting => "reconnecting",
            Self::Stopped => "stopped",
        }
    }
}

impl ConsumerState {
    pub(crate) fn new(queue: &str) -> Self {
        let state = Self {
            queue: queue.to_owned(),
            inner: Mutex::new(Inner {
                phase: Phase::Starting,
                since: Instant::now(),
                last_error: None,
            }),
        };
        state.refresh_metrics();
        state
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut inner)
    }

    /// The broker accepted the consumer's `basic.consume`.
    pub(crate) fn attached(&self) {
        self.with(|inner| {
            inner.phase = Phase::Attached;
            inner.since = Instant::now();
            inner.last_error = None;
        });
        metrics::counter!("events_consumer_attachments_total", "queue" => self.queue.clone())
            .increment(1);
        self.refresh_metrics();
    }

    /// The consumer lost its queue (or could not reach it) because of `error`.
    pub(crate) fn detached(&self, error: &str) {
        self.with(|inner| {
            if inner.phase == Phase::Attached {
                inner.since = Instant::now();
            }
            if inner.phase != Phase::Starting {
                inner.phase = Phase::Reconnecting;
            }
            inner.last_error = Some(error.chars().take(300).collect());
        });
        self.refresh_metrics();
    }

    /// The consumer stopped with the service.
    pub(crate) fn stopped(&self) {
        self.with(|inner| {
            if inner.phase == Phase::Attached {
                inner.since = Instant::now();
            }
            inner.phase = Phase::Stopped;
        });
        self.refresh_metrics();
    }

    /// How long the consumer has gone without consuming: zero while it is attached.
    fn lag(inner: &Inner) -> Duration {
        if inner.phase == Phase::Attached {
            Duration::ZERO
        } else {
            inner.since.elapsed()
        }
    }

    /// Sets the gauges from the current state (the lag grows while nothing happens, so the
    /// consumer calls this every second too).
    pub(crate) fn refresh_metrics(&self) {
        let (attached, lag) = self.with(|inner| (inner.phase == Phase::Attached, Self::lag(inner)));
        metrics::gauge!("events_consumer_attached", "queue" => self.queue.clone())
            .set(if attached { 1.0 } else { 0.0 });
        metrics::gauge!("events_consumer_detached_seconds", "queue" => self.queue.clone())
            .set(lag.as_secs_f64());
    }

    /// `None` when the consumer consumes (or stopped with the service); otherwise why not.
    fn trouble(&self) -> Option<String> {
        self.with(|inner| match inner.phase {
            Phase::Attached | Phase::Stopped => None,
            phase => Some(format!(
                "{} {} for {:.1}s{}",
                self.queue,
                phase.name(),
                Self::lag(inner).as_secs_f64(),
                inner
                    .last_error
                    .as_deref()
                    .map(|error| format!(" ({error})"))
                    .unwrap_or_default()
            )),
        })
    }

    fn view(&self) -> Value {
        self.with(|inner| {
            let mut view = json!({
                "queue": self.queue,
                "state": inner.phase.name(),
                // Tenths of a second: enough for on-call, and a stable answer to read.
                "lagSeconds": (Self::lag(inner).as_secs_f64() * 10.0).round() / 10.0,
            });
            if let Some(error) = &inner.last_error {
                view["lastError"] = Value::from(error.as_str());
            }
            view
        })
    }
}

/// The event bus's `/health` answer: healthy when every consumer is attached, degraded (with
/// each consumer's state and lag) when one is not. Reads recorded state only: no I/O.
pub(crate) fn outcome(broker: &Broker) -> Outcome {
    let consumers = broker.consumers();
    let trouble: Vec<String> = consumers.iter().filter_map(|c| c.trouble()).collect();
    let connection = match broker.is_connected() {
        Some(true) => "open",
        Some(false) => "closed",
        None => "opening",
    };
    let details = json!({
        "connection": connection,
        "consumers": consumers.iter().map(|c| c.view()).collect::<Vec<_>>(),
    });
    if trouble.is_empty() {
        Outcome::healthy().with_details(details)
    } else {
        Outcome {
            status: Status::Degraded,
            error: Some(format!("not consuming: {}", trouble.join("; "))),
            details: Some(details),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_reports_its_phase_and_lag() {
        let state = ConsumerState::new("orders.saga");
        assert!(
            state
                .trouble()
                .unwrap()
                .starts_with("orders.saga starting for")
        );
        state.attached();
        assert_eq!(state.trouble(), None);
        assert_eq!(state.view()["state"], "attached");
        assert_eq!(state.view()["lagSeconds"], 0.0);
        state.detached("connection reset");
        std::thread::sleep(Duration::from_millis(120));
        let trouble = state.trouble().unwrap();
        assert!(
            trouble.starts_with("orders.saga reconnecting for 0.1s"),
            "{trouble}"
        );
        assert!(trouble.ends_with("(connection reset)"), "{trouble}");
        assert!(state.view()["lagSeconds"].as_f64().unwrap() >= 0.1);
        // A second failure while reconnecting does not reset the lag.
        std::thread::sleep(Duration::from_millis(100));
        state.detached("connection refused");
        assert!(state.view()["lagSeconds"].as_f64().unwrap() >= 0.2);
        assert_eq!(state.view()["lastError"], "connection refused");
        state.attached();
        assert_eq!(state.view()["lastError"], Value::Null);
        state.stopped();
        assert_eq!(state.trouble(), None, "a stopped consumer is not a fault");
    }
}
