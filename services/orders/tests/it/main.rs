//! Orders' integration tests: the service on a random port against its own PostgreSQL
//! database, a Redis key prefix and a RabbitMQ exchange. Other services' events are
//! published by the tests; `tests/e2e` runs the saga across the real services.
#![expect(clippy::unwrap_used, reason = "tests")]

mod addresses;
mod analytics;
mod cart;
mod checkout;
mod compliance;
mod errors;
mod fulfilment;
mod helpers;
mod openapi;
mod saga;
mod service;
mod track_and_trace;
