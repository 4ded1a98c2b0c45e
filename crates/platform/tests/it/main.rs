//! The shared HTTP server against real PostgreSQL and Redis.

mod server;
