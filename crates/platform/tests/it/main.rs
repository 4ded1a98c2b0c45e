//! The shared HTTP server against real PostgreSQL and Redis; provider answers read with a cap.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on broken set-up")]

mod outbound;
mod server;
