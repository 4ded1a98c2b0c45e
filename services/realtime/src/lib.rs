//! The realtime service: the guide's WebSocket server. Clients open one Socket.IO connection
//! (`/socket.io/`, long-polling then WebSocket) and every live event travels on it: inbound
//! events proxied to the service that owns them as the user, outbound ones from the event bus
//! and from a Redis channel, to rooms spanning every replica. It owns no data. See README.md;
//! the layout is the one every service follows (docs/architecture.md, "The rooms of a
//! service").

pub mod config;
pub mod connect;
pub mod ephemeral;
pub mod events;
pub mod handler;
pub mod inbound;
pub mod limits;
pub mod outbound;
pub mod proxy;
pub mod routes;
pub mod startup;
