//! The realtime service over real sockets, against real Redis and RabbitMQ: authentication at
//! CONNECT, inbound events proxied (services stubbed with wiremock), outbound events from the
//! bus and Redis, every limit, two replicas sharing rooms, shutdown, the OpenAPI document, and
//! the real socket.io-client.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod auth;
mod client;
mod cluster;
mod helpers;
mod inbound;
mod limits;
mod observability;
mod openapi;
mod outbound;
mod shutdown;
