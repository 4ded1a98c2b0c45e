//! The HTTP server every service runs: the same middleware stack (request id, tracing,
//! metrics), the same JSON and query error handling, `/health`, `/health/live` and
//! `/metrics`, a problem+json 404 for unknown routes, and graceful shutdown.

use crate::health::Health;
use crate::shutdown::Shutdown;
use crate::telemetry::RequestSpan;
use crate::{metrics, request_id};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tracing_actix_web::TracingLogger;

/// Settings of the HTTP server itself.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub service: &'static str,
    /// Worker threads; `None` takes one per core.
    pub workers: Option<usize>,
    /// How long in-flight requests may run after shutdown begins.
    pub shutdown_timeout: Duration,
}

/// A running server: its address, and a future that resolves when it has stopped.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub server: Server,
}

/// Binds `host:port` (port 0 picks a free one, for tests).
pub fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port))
}

/// Starts serving `configure`'s routes on `listener` with the shared middleware and
/// endpoints. When `shutdown` fires, the server stops accepting connections and lets
/// in-flight requests finish within `settings.shutdown_timeout`.
pub fn serve<F>(
    listener: TcpListener,
    settings: ServerSettings,
    health: Health,
    shutdown: &Shutdown,
    configure: F,
) -> std::io::Result<RunningServer>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let addr = listener.local_addr()?;
    let prometheus = web::Data::new(metrics::install(settings.service));
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(metrics::track))
            .wrap(TracingLogger::<RequestSpan>::new())
            .wrap(from_fn(request_id::middleware))
            .app_data(domain::problem::json_config())
            .app_data(domain::problem::query_config())
            .app_data(domain::problem::path_config())
            .app_data(prometheus.clone())
            .configure(crate::health::routes(health.clone()))
            .route("/metrics", web::get().to(metrics::render))
            .configure(configure.clone())
            .default_service(web::to(domain::problem::route_not_found))
    })
    .listen(listener)?
    // Signals are handled by `Shutdown`, which also stops the relays and consumers.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout.as_secs());
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let server = server.run();
    let handle = server.handle();
    let stopper = handle.clone();
    let stopped = shutdown.wait();
    tokio::spawn(async move {
        stopped.await;
        stopper.stop(true).await;
    });
    Ok(RunningServer {
        addr,
        handle,
        server,
    })
}
