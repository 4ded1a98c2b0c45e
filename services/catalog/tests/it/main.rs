//! The catalog service over HTTP and RabbitMQ, against real PostgreSQL, Redis and RabbitMQ.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod admin;
mod cache;
mod errors;
mod helpers;
mod images;
mod listing;
mod openapi;
mod reviews;
mod search;
mod seed;
mod stock;
