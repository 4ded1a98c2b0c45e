//! The order saga across the real catalog, payments and orders services on one RabbitMQ
//! exchange (see `e2e::System`): each test starts its own three services with fresh
//! databases, so the tests run in parallel. Every wait has a deadline; nothing sleeps.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod cancellation;
mod confirmed;
mod delivery;
mod out_of_stock;
mod payment_failures;
mod redelivery;
