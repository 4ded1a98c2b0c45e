//! The auth service over HTTP, against real PostgreSQL, Redis and RabbitMQ.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod admin_users;
mod audit;
mod errors;
mod helpers;
mod id_verification;
mod keys;
mod login;
mod memory;
mod openapi;
mod password_reset;
mod profile;
mod register;
mod sessions;
