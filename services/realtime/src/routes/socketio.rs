//! `/socket.io/`: the Engine.IO v4 endpoint (`crates/socketio`). A `GET` without `sid` opens
//! a session (long-polling, or a WebSocket when it is an upgrade request); with `sid` it
//! receives the session's packets, or upgrades it to WebSocket. A `POST` sends packets.

use crate::limits::HandshakeLimit;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use domain::Problem;
use serde::Deserialize;
use socketio::SocketIo;
use std::net::IpAddr;
use utoipa::IntoParams;

/// The Engine.IO query. Parsed by the engine itself; listed here for the document.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the query; the engine reads the raw query string"
)]
pub struct EngineQuery {
    /// The protocol version: `4`.
    #[serde(rename = "EIO")]
    #[param(rename = "EIO", example = "4")]
    eio: String,
    /// `polling` or `websocket`.
    #[param(example = "polling")]
    transport: String,
    /// The session id, once the session is open.
    sid: Option<String>,
    /// A cache buster some clients add.
    t: Option<String>,
}

/// Opens a session (its `open` packet: `0{"sid",...}`), waits for a session's packets
/// (long-polling), or opens or upgrades to a WebSocket.
#[utoipa::path(get, path = "/socket.io/", tag = "realtime", params(EngineQuery),
    responses(
        (status = 200, description = "The `open` packet of a new session, or the packets waiting for the client, separated by `\\x1e`", content_type = "text/plain", body = String),
        (status = 101, description = "Switching to WebSocket (a new session on WebSocket, or the upgrade of a polling one)"),
        (status = 400, description = "`BAD_REQUEST`: `EIO` is not 4, the transport is unknown, the session is unknown or closed, or another poll of it is pending"),
        (status = 429, description = "`RATE_LIMITED`: too many new sessions from this address this minute (`Retry-After` says when to try again)"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: this replica is shutting down; connect again (another replica takes the session)")))]
pub async fn poll(
    req: HttpRequest,
    body: web::Payload,
    io: web::Data<SocketIo>,
    handshakes: web::Data<HandshakeLimit>,
) -> HttpResponse {
    if is_handshake(req.query_string())
        && let Err(refused) = handshakes.check(client_ip(&req)).await
    {
        return Problem::rate_limited(refused.retry_after_secs)
            .with_detail("Too many new connections from your address; retry in a moment.")
            .error_response();
    }
    io.handle(req, body).await
}

/// A request that opens a session: no `sid` in its query.
fn is_handshake(query: &str) -> bool {
    !query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("sid"))
}

/// The client's address: the one the gateway determined (the first of `X-Forwarded-For`,
/// whose client-sent entries it strips), or the peer's without a gateway. The engine keeps
/// the same address with the session.
fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
        .and_then(|list| list.split(',').next())
        .and_then(|ip| ip.trim().parse().ok())
        .or_else(|| req.peer_addr().map(|addr| addr.ip()))
}

/// Sends packets to a session (long-polling), separated by `\x1e`; answers `ok` once they
/// were taken.
#[utoipa::path(post, path = "/socket.io/", tag = "realtime", params(EngineQuery),
    request_body(content = String, content_type = "text/plain", description = "Engine.IO packets, separated by `\\x1e`"),
    responses(
        (status = 200, description = "`ok`", content_type = "text/html", body = String),
        (status = 400, description = "`BAD_REQUEST`: no or an unknown session, a malformed packet (the session is closed), or another POST of the session in progress"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: more than `maxPayload` bytes (the session is closed)")))]
pub async fn send(req: HttpRequest, body: web::Payload, io: web::Data<SocketIo>) -> HttpResponse {
    io.handle(req, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_is_a_request_without_sid() {
        assert!(is_handshake("EIO=4&transport=polling&t=Nx1"));
        assert!(is_handshake("EIO=4&transport=websocket"));
        assert!(is_handshake("EIO=4&transport=polling&sidecar=1"));
        assert!(!is_handshake("EIO=4&transport=polling&sid=AAAA"));
        assert!(!is_handshake("sid=AAAA&EIO=4&transport=websocket"));
    }
}
