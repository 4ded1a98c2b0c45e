//! The socketio crate over real sockets: the Engine.IO and Socket.IO protocols point by point,
//! rooms and broadcasts, the Redis adapter across two servers, forwarding between replicas,
//! and the real `socket.io-client` from npm.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod client;
mod cluster;
mod engine;
mod helpers;
mod socketio;
