//! The shared HTTP server against real PostgreSQL and Redis.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on broken set-up")]

mod server;
