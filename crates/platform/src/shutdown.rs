//! Graceful shutdown: one token cancelled on SIGTERM or SIGINT. The HTTP server stops
//! accepting and finishes in-flight requests; relays and consumers finish the message in hand
//! and return.

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The shutdown signal shared by every part of a service.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// A shutdown that also fires on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let token = shutdown.token.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            token.cancel();
        });
        shutdown
    }

    /// Starts shutting down.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once shutdown has begun.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        self.token.clone().cancelled_owned()
    }

    /// The token background tasks watch.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the service");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Waits for background tasks to return after shutdown, at most `timeout` in all; a task
/// still running then is abandoned (the process is about to exit) and named in the log.
pub async fn join_all(tasks: Vec<(&'static str, JoinHandle<()>)>, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    for (name, task) in tasks {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(())) => tracing::info!(task = name, "stopped"),
            Ok(Err(err)) => tracing::error!(task = name, %err, "task failed"),
            Err(_) => tracing::warn!(task = name, "did not stop in time"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_wakes_every_waiter() {
        let shutdown = Shutdown::new();
        let a = tokio::spawn(shutdown.wait());
        let b = tokio::spawn(shutdown.wait());
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(1), async {
            a.await.unwrap();
            b.await.unwrap();
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn join_all_gives_up_on_a_stuck_task() {
        let stuck = tokio::spawn(std::future::pending::<()>());
        let quick = tokio::spawn(async {});
        let started = tokio::time::Instant::now();
        join_all(
            vec![("quick", quick), ("stuck", stuck)],
            Duration::from_millis(100),
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
