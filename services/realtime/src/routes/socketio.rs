//! `/socket.io/`: the Engine.IO v4 endpoint (`crates/socketio`). A `GET` without `sid` opens
//! a session (long-polling, or a WebSocket when it is an upgrade request); with `sid` it
//! receives the session's packets, or upgrades it to WebSocket. A `POST` sends packets.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use socketio::SocketIo;
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
        (status = 400, description = "`BAD_REQUEST`: `EIO` is not 4, the transport is unknown, the session is unknown or closed, or another poll of it is pending")))]
pub async fn poll(req: HttpRequest, body: web::Payload, io: web::Data<SocketIo>) -> HttpResponse {
    io.handle(req, body).await
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
