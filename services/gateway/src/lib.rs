//! The API gateway (DESIGN §2, §5, §6): every client request enters here. Routes come from a
//! declarative file; tokens are verified at the edge, rate limits are shared by all replicas
//! through Redis, WebSockets are proxied, and the services' API documents are merged.
//!
//! Built on Pingora, which brings the server (listeners, graceful restarts and shutdown, one
//! runtime per core) and health-checked load balancing; hyper parses and writes HTTP on
//! Pingora's connections (see `server`). The gateway is therefore its own binary rather than an
//! actix service.

pub mod body;
pub mod client_ip;
pub mod cluster;
pub mod config;
pub mod cors;
pub mod edge_auth;
pub mod openapi;
pub mod ops;
pub mod own_endpoints;
pub mod proxy;
pub mod rate_limit;
pub mod request_path;
pub mod respond;
pub mod revocation;
pub mod route_table;
pub mod server;
pub mod startup;
pub mod telemetry;
pub mod tunnel;
pub mod upstream;
