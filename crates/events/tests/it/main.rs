//! The event bus against real PostgreSQL and RabbitMQ: outbox → relay → exchange → consumer.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or bench fails loudly on broken set-up"
)]

mod broker_disruption;
mod consumer;
mod definitions;
mod health;
mod live;
mod outage;
mod outbox;
mod returns;
mod shutdown;
mod support;
