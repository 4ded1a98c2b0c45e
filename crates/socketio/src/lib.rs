//! The Socket.IO v4 protocol, server side, on actix-web and actix-ws: what an unmodified
//! `socket.io-client` v4 connects to with its defaults.
//!
//! - [`engine`]: Engine.IO v4 — HTTP long-polling (`GET` waits, `POST` sends, packets batched
//!   with `\x1e`), WebSocket, the upgrade from one to the other (probe, `noop`), the server's
//!   ping and the client's pong within `pingTimeout`, `maxPayload`, close.
//! - [`io`]: Socket.IO v5 — `CONNECT` with an auth payload, `CONNECT_ERROR` with a message,
//!   events and acks both ways, binary attachments, namespaces, rooms and broadcasts.
//! - [`adapter`]: rooms across replicas ([`adapter::redis::RedisAdapter`]).
//! - [`cluster`]: a polling session's requests reach the replica holding it (forwarding).
//!
//! ```ignore
//! let io = SocketIo::new(Config::default(), NodeId::random(), Arc::new(LocalAdapter));
//! io.namespace("/", Arc::new(MyHandler));
//! App::new().configure(socketio::configure(io.clone(), "/socket.io"));
//! io.to("order:42").emit("order-status", &[json!({"status": "confirmed"})]);
//! ```
//!
//! Inbound packets are parsed with socketioxide's transport-free crates (`engineioxide-core`,
//! `socketioxide-parser-common`); the transports, sessions, rooms and adapter are ours.

pub mod adapter;
pub mod cluster;
pub mod config;
pub mod engine;
pub mod io;

pub use adapter::{Adapter, LocalAdapter};
pub use config::Config;
pub use engine::session::{CloseReason, Handshake, Transport};
pub use engine::sid::{NodeId, Sid};
pub use engine::{Engine, Outgoing};
pub use io::namespace::{Handler, Namespace, Refusal};
pub use io::socket::{Ack, AckError, AckReply, DisconnectReason, Event, Socket, SocketId};
pub use io::{Broadcast, SocketIo};

use actix_web::{HttpRequest, web};

/// Mounts `io` at `path` (`/socket.io`): every method reaches the engine, which answers 400 to
/// what the protocol does not take.
pub fn configure(io: SocketIo, path: &str) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let path = format!("{}/", path.trim_end_matches('/'));
    move |cfg: &mut web::ServiceConfig| {
        let io = io.clone();
        cfg.route(
            &path,
            web::route().to(move |req: HttpRequest, body: web::Payload| {
                let io = io.clone();
                async move { io.handle(req, body).await }
            }),
        );
    }
}
