//! The HTTP long-polling transport: `GET` receives (waiting until there is something to
//! send), `POST` sends, one of each at a time per session.

use super::frame::{self, CLOSE, NOOP, Outgoing};
use super::session::{CloseReason, Handshake, Session, Transport};
use super::{Engine, bad_request, dispatch};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, ResponseError, web};
use domain::{Code, Problem};
use futures_util::StreamExt;
use std::sync::Arc;

/// Most packets one `GET` answer carries; the rest wait for the next.
const MAX_PACKETS_PER_POLL: usize = 256;

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; charset=UTF-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A new polling session: the answer is its `open` packet.
pub(super) fn open(engine: &Engine, handshake: Handshake) -> HttpResponse {
    let session = engine.create(Transport::Polling, handshake);
    text(engine.open_packet(&session, &["websocket"]))
}

/// `GET`: the packets waiting for the client, once there is at least one.
pub(super) async fn poll(session: &Arc<Session>) -> HttpResponse {
    if session.is_upgrading() {
        // The client is moving to WebSocket: end polling cleanly.
        return text(NOOP.into());
    }
    if !session.is_polling() {
        return bad_request("This session is not on the polling transport.");
    }
    let Ok(mut queue) = session.rx.try_lock() else {
        session.close(CloseReason::DuplicateRequest);
        return bad_request("Another GET of this session is pending.");
    };
    let upgrading = session.upgrading.notified();
    tokio::pin!(upgrading);
    upgrading.as_mut().enable();
    if session.is_upgrading() {
        return text(NOOP.into());
    }
    let first = tokio::select! {
        biased;
        packet = queue.recv() => packet,
        () = &mut upgrading => return text(NOOP.into()),
        () = session.closed() => None,
    };
    let Some(first) = first else {
        // A client that closed gets `noop` for its pending GET; one the server closed, `close`.
        let answer = match session.close_reason() {
            Some(CloseReason::ClientClose) => NOOP,
            _ => CLOSE,
        };
        return text(answer.into());
    };
    let mut packets = vec![first];
    while packets.len() < MAX_PACKETS_PER_POLL {
        match queue.try_recv() {
            Ok(packet) => packets.push(packet),
            Err(_) => break,
        }
    }
    drop(queue);
    let mut body = String::new();
    frame::encode_payload(&mut body, &packets);
    record_fanout(&packets, "polling");
    text(body)
}

/// The fan-out latency of written packets: from their publication to the socket write.
pub(crate) fn record_fanout(packets: &[Outgoing], transport: &'static str) {
    for packet in packets {
        if let Some(published) = packet.published {
            metrics::histogram!("socketio_fanout_seconds", "transport" => transport)
                .record(published.elapsed().as_secs_f64());
        }
    }
}

/// `POST`: packets from the client, handled in order before the answer (`ok`).
pub(super) async fn post(
    engine: &Engine,
    session: &Arc<Session>,
    mut body: web::Payload,
) -> HttpResponse {
    if session.is_closed() || !(session.is_polling() || session.is_upgrading()) {
        return bad_request("This session is not on the polling transport.");
    }
    if session
        .posting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        session.close(CloseReason::DuplicateRequest);
        return bad_request("Another POST of this session is in progress.");
    }
    let max = usize::try_from(engine.config().max_payload).unwrap_or(usize::MAX);
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            session
                .posting
                .store(false, std::sync::atomic::Ordering::Release);
            return bad_request("The request body could not be read.");
        };
        if bytes.len() + chunk.len() > max {
            session.close(CloseReason::PayloadTooLarge);
            return Problem::new(Code::PayloadTooLarge)
                .with_detail(format!("A payload may carry at most {max} bytes."))
                .error_response();
        }
        bytes.extend_from_slice(&chunk);
    }
    let packets = match frame::decode_payload(&bytes) {
        Ok(packets) => packets,
        Err(err) => {
            session.close(CloseReason::ProtocolError);
            return bad_request(&err.to_string());
        }
    };
    for packet in packets {
        match dispatch(session, packet) {
            Ok(Some(handler)) => session.run_handler(handler),
            Ok(None) => {}
            Err(reason) => {
                session.close(reason);
                return bad_request("Invalid packet; the session is closed.");
            }
        }
    }
    // Too many handlers waiting: the answer waits, and with it the client's next POST.
    while session.handlers_pending() >= engine.config().max_pending_events && !session.is_closed() {
        let handled = session.handled.notified();
        tokio::pin!(handled);
        handled.as_mut().enable();
        if session.handlers_pending() < engine.config().max_pending_events {
            break;
        }
        tokio::select! {
            () = handled => {},
            () = session.closed() => {},
        }
    }
    session
        .posting
        .store(false, std::sync::atomic::Ordering::Release);
    HttpResponse::build(StatusCode::OK)
        .insert_header((CONTENT_TYPE, "text/html"))
        .body("ok")
}
