//! The test harness every service test uses:
//! - [`TestDb`]: a fresh database per test, cloned from a template that already has the
//!   migrations (so a test does not pay for them), dropped when the test ends;
//! - [`TestBroker`]: an exchange and queue names unique to the test, deleted afterwards, so
//!   parallel tests never see each other's events;
//! - [`TestTokens`]: a signing key and a matching verifier, to mint tokens for any user;
//!   [`deny`] revokes one as logout does;
//! - [`EventTap`]: every event a service published on the test's exchange;
//! - [`publish_event`], [`wait_for_consumer`]: play the producer of the events a service
//!   consumes;
//! - [`wait_for`]: poll a condition with a deadline instead of sleeping;
//! - [`TestClient`] and [`assert_problem!`]: requests, and error answers checked and
//!   snapshotted with insta;
//! - [`TestDb::assert_outbox_sent`]: a service's harness fails a test that leaves events
//!   unsent.

mod broker;
pub mod client;
mod db;
pub mod openapi;
mod publish;
mod tap;
mod tokens;
mod wait;

pub use broker::TestBroker;
pub use client::{TestClient, TestResponse};
pub use db::{MigrationSource, TestDb};
#[doc(hidden)]
pub use insta;
pub use publish::{publish_event, wait_for_consumer};
pub use tap::{EventTap, TappedEvent};
pub use tokens::{AUDIENCE, ISSUER, TestTokens, deny};
pub use wait::{wait_for, wait_for_value};

/// `DATABASE_URL`, or the local default. Tests create their databases next to it.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/faded_skies".into())
}

/// `AMQP_URL`, or the local default.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// `REDIS_URL`, or the local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}
