//! The event bus against real PostgreSQL and RabbitMQ: outbox → relay → exchange → consumer.

mod broker_disruption;
mod consumer;
mod outbox;
mod support;
