//! The gateway end to end: the real binary in front of stub upstreams (and the real auth
//! service where it matters), against real Redis.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod contract;
mod docs;
mod edge_auth;
mod helpers;
mod operations;
mod paths;
mod rate_limits;
mod resilience;
mod routing;
mod upstream_connections;
mod websocket;
