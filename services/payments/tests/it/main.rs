//! The payments service over HTTP, against real PostgreSQL and RabbitMQ.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod admin;
mod errors;
mod guide_intents;
mod helpers;
mod intents;
mod methods;
mod openapi;
mod rewards;
mod saga;
mod stripe_adapter;
mod webhooks;
