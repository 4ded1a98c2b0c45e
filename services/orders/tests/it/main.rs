//! Orders' integration tests: the service on a random port against its own PostgreSQL
//! database, a Redis key prefix and a RabbitMQ exchange. Other services' events are
//! published by the tests; `tests/e2e` runs the saga across the real services.
#![expect(clippy::unwrap_used, reason = "tests")]

mod addresses;
mod cart;
mod checkout;
mod compliance;
mod fulfilment;
mod helpers;
mod insights;
mod saga;
mod service;
mod trace;
