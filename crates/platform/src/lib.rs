//! Service plumbing shared by every Faded Skies binary: configuration, telemetry, metrics,
//! health checks, PostgreSQL and Redis pools, embedded migrations and graceful shutdown.
//!
//! A service's `main.rs` reads [`config::CommonConfig`], calls [`telemetry::init`], builds its
//! pools with [`db`] and [`redis`], and serves its routes with [`http::serve`], which adds the
//! request id, access log, `/metrics`, `/health` and `/health/live` to every service alike.

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod metrics;
pub mod objects;
pub mod outbound;
pub mod redis;
pub mod request_id;
pub mod shutdown;
pub mod signature;
pub mod start;
pub mod telemetry;

pub use config::CommonConfig;
pub use shutdown::Shutdown;
