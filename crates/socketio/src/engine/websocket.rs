//! The WebSocket transport: a session opened on a WebSocket, or one upgraded from polling
//! (probe, `noop` to the pending poll, `upgrade`). One task per socket reads the client's
//! frames and writes the session's queue; handlers run on the session's own task, in order.

use super::frame::{self, Outgoing, PONG_PROBE};
use super::polling::record_fanout;
use super::session::{CloseReason, Handshake, Session, Transport};
use super::{Engine, bad_request, dispatch};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, ProtocolError};
use engineioxide_core::Packet;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::{MutexGuard, mpsc};

/// Packets written in one go before the task looks at the client's frames again.
const WRITE_BATCH: usize = 64;

fn accept(
    engine: &Engine,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(HttpResponse, actix_ws::Session, AggregatedMessageStream), Box<HttpResponse>> {
    let max = usize::try_from(engine.config().max_payload).unwrap_or(usize::MAX);
    let (response, socket, stream) = actix_ws::handle(req, body)
        .map_err(|_| Box::new(bad_request("Not a valid WebSocket handshake.")))?;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    Ok((response, socket, stream))
}

/// A session opened on a WebSocket: the `open` packet is its first frame.
pub(super) fn open(
    engine: &Engine,
    req: &HttpRequest,
    body: web::Payload,
    handshake: Handshake,
) -> HttpResponse {
    let (response, mut socket, stream) = match accept(engine, req, body) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let session = engine.create(Transport::Websocket, handshake);
    let open = engine.open_packet(&session, &[]);
    let max_pending = engine.config().max_pending_events;
    actix_web::rt::spawn(async move {
        if socket.text(open).await.is_err() {
            session.close(CloseReason::TransportClose);
            return;
        }
        let queue = session.rx.lock().await;
        run(&session, socket, stream, queue, max_pending).await;
    });
    response
}

/// A WebSocket for a polling session: the upgrade.
pub(super) fn upgrade(
    engine: &Engine,
    req: &HttpRequest,
    body: web::Payload,
    session: Arc<Session>,
) -> HttpResponse {
    // One WebSocket per session: one that is upgrading or upgraded already is refused.
    if !session.is_polling() {
        return bad_request("This session is already upgrading or upgraded.");
    }
    let (response, socket, stream) = match accept(engine, req, body) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let timeout = engine.config().upgrade_timeout;
    let max_pending = engine.config().max_pending_events;
    actix_web::rt::spawn(async move {
        match tokio::time::timeout(timeout, probe(&session, socket, stream)).await {
            Ok(Some((socket, stream))) => {
                let queue = session.rx.lock().await;
                run(&session, socket, stream, queue, max_pending).await;
            }
            // The socket failed the upgrade: the session goes on polling.
            Ok(None) | Err(_) => session.abandon_upgrade(),
        }
    });
    response
}

/// The probe (`2probe` → `3probe`, which also ends the pending poll with `noop`), then the
/// client's `upgrade`. `None` if the socket does not complete it.
async fn probe(
    session: &Session,
    mut socket: actix_ws::Session,
    mut stream: AggregatedMessageStream,
) -> Option<(actix_ws::Session, AggregatedMessageStream)> {
    let mut probed = false;
    loop {
        let message = tokio::select! {
            message = stream.recv() => message,
            () = session.closed() => None,
        };
        let text = match message {
            Some(Ok(AggregatedMessage::Text(text))) => text,
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                socket.pong(&bytes).await.ok()?;
                continue;
            }
            _ => {
                let _ = socket.close(None).await;
                return None;
            }
        };
        match frame::decode_text(&text) {
            Ok(Packet::PingUpgrade) if !probed => {
                if !session.begin_upgrade() {
                    let _ = socket.close(None).await;
                    return None;
                }
                probed = true;
                socket.text(PONG_PROBE).await.ok()?;
            }
            Ok(Packet::Upgrade) if probed => {
                if session.finish_upgrade() {
                    return Some((socket, stream));
                }
                let _ = socket.close(None).await;
                return None;
            }
            _ => {
                let _ = socket.close(None).await;
                return None;
            }
        }
    }
}

/// Serves the session on `socket` until either side closes it.
async fn run(
    session: &Arc<Session>,
    mut socket: actix_ws::Session,
    mut stream: AggregatedMessageStream,
    mut queue: MutexGuard<'_, mpsc::Receiver<Outgoing>>,
    max_pending: usize,
) {
    let ended = loop {
        // Too many handlers waiting: stop reading until one finishes.
        let reading = session.handlers_pending() < max_pending;
        tokio::select! {
            biased;
            () = session.closed() => break None,
            packet = queue.recv() => match packet {
                Some(packet) => {
                    if write(&mut socket, &mut queue, packet).await.is_err() {
                        break Some(CloseReason::TransportClose);
                    }
                }
                None => break None,
            },
            () = session.handled.notified(), if !reading => {}
            message = stream.recv(), if reading => match read(session, &mut socket, message).await {
                Ok(Some(handler)) => session.run_handler(handler),
                Ok(None) => {}
                Err(reason) => break Some(reason),
            },
        }
    };
    if let Some(reason) = ended {
        session.close(reason);
    }
    // What the server queued before closing (a last packet to a socket it disconnects) still
    // goes out, unless the client is the reason.
    if matches!(
        session.close_reason(),
        Some(CloseReason::ServerClose | CloseReason::ConnectTimeout | CloseReason::PingTimeout)
    ) {
        while let Ok(packet) = queue.try_recv() {
            if write(&mut socket, &mut queue, packet).await.is_err() {
                break;
            }
        }
    }
    let code = match session.close_reason() {
        Some(CloseReason::PayloadTooLarge) => CloseCode::Size,
        Some(CloseReason::ProtocolError) => CloseCode::Protocol,
        Some(CloseReason::ServerClose) => CloseCode::Away,
        _ => CloseCode::Normal,
    };
    let _ = socket.close(Some(code.into())).await;
}

/// Writes `first` and whatever else is queued, up to a batch.
async fn write(
    socket: &mut actix_ws::Session,
    queue: &mut mpsc::Receiver<Outgoing>,
    first: Outgoing,
) -> Result<(), actix_ws::Closed> {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(packet) = next {
        if !packet.text.is_empty() {
            socket.text(packet.text.clone()).await?;
        }
        for attachment in packet.attachments.as_deref().unwrap_or_default() {
            socket.binary(attachment.clone()).await?;
        }
        record_fanout(std::slice::from_ref(&packet), "websocket");
        written += 1;
        next = if written < WRITE_BATCH {
            queue.try_recv().ok()
        } else {
            None
        };
    }
    Ok(())
}

/// One frame from the client: a handler to run, nothing, or why the session ends.
async fn read(
    session: &Session,
    socket: &mut actix_ws::Session,
    message: Option<Result<AggregatedMessage, ProtocolError>>,
) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
    match message {
        None | Some(Ok(AggregatedMessage::Close(_))) => Err(CloseReason::TransportClose),
        Some(Err(ProtocolError::Overflow)) => Err(CloseReason::PayloadTooLarge),
        Some(Err(_)) => Err(CloseReason::ProtocolError),
        Some(Ok(AggregatedMessage::Text(text))) => match frame::decode_text(&text) {
            Ok(packet) => dispatch(session, packet),
            Err(_) => Err(CloseReason::ProtocolError),
        },
        // Binary frames carry attachments as they are, without the `b` prefix and base64.
        Some(Ok(AggregatedMessage::Binary(data))) => dispatch(session, Packet::Binary(data)),
        Some(Ok(AggregatedMessage::Ping(bytes))) => {
            socket
                .pong(&bytes)
                .await
                .map_err(|_| CloseReason::TransportClose)?;
            Ok(None)
        }
        Some(Ok(AggregatedMessage::Pong(_))) => Ok(None),
    }
}
