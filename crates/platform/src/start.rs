//! Starting a service: why it could not start (one line naming the step that failed, for the
//! logs of a pod in CrashLoopBackOff), its migrations, and the running service every binary
//! and test drives the same way.

use crate::CommonConfig;
use crate::http::RunningServer;
use crate::shutdown::Shutdown;
use diesel_migrations::EmbeddedMigrations;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// For `map_err` on a start-up step: `.map_err(|e| fail("database pool")(e.to_string()))`.
pub fn fail(what: &str) -> impl FnOnce(String) -> StartError + '_ {
    move |err| StartError(format!("{what}: {err}"))
}

/// Applies `sets` (the shared outbox/inbox migrations, then the service's own) to the
/// service's schema.
pub async fn migrate(
    common: &CommonConfig,
    sets: &[&EmbeddedMigrations],
) -> Result<(), StartError> {
    crate::db::migrate(&common.database_url, &common.schema(), sets)
        .await
        .map_err(|e| fail("migrations")(e.to_string()))
}

/// A started service: its HTTP server and the background tasks (relay, consumers, timers)
/// that stop with it.
pub struct Running {
    pub addr: SocketAddr,
    server: RunningServer,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    shutdown: Shutdown,
    shutdown_timeout: Duration,
}

impl Running {
    pub fn new(
        server: RunningServer,
        tasks: Vec<(&'static str, JoinHandle<()>)>,
        shutdown: Shutdown,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            addr: server.addr,
            server,
            tasks,
            shutdown,
            shutdown_timeout,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until shutdown, then waits for the background tasks to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.server.await;
        self.shutdown.trigger();
        crate::shutdown::join_all(self.tasks, self.shutdown_timeout).await;
        result
    }
}
