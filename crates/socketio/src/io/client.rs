//! One Engine.IO session seen from Socket.IO: its sockets (one per namespace connected), the
//! decoder that gathers binary attachments, and the rules on the order of packets.

use super::IoInner;
use super::namespace::Namespace;
use super::packet::{self, Decoded, Decoder, Inbound, Malformed};
use super::socket::{Ack, AckReply, DisconnectReason, Event, Socket};
use crate::engine::session::{CloseReason, Connection, Session};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

type Sockets = Arc<Mutex<HashMap<String, Arc<Socket>>>>;

pub(crate) struct Client {
    io: Weak<IoInner>,
    session: Arc<Session>,
    decoder: Decoder,
    sockets: Sockets,
    /// A `CONNECT` came: until then any other packet closes the session.
    connect_seen: AtomicBool,
}

impl Client {
    pub(crate) fn new(io: Weak<IoInner>, session: Arc<Session>) -> Arc<Self> {
        let config = match io.upgrade() {
            Some(io) => io.engine.config().clone(),
            None => crate::Config::default(),
        };
        let client = Arc::new(Self {
            io,
            session: Arc::clone(&session),
            decoder: Decoder::new(
                config.max_attachments,
                usize::try_from(config.max_payload).unwrap_or(usize::MAX),
            ),
            sockets: Arc::default(),
            connect_seen: AtomicBool::new(false),
        });
        // A session that joins no namespace in time is closed.
        let sockets = Arc::clone(&client.sockets);
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(config.connect_timeout) => {
                    let none = sockets
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .values()
                        .all(|socket| !socket.is_connected());
                    if none {
                        session.close(CloseReason::ConnectTimeout);
                    }
                }
                () = session.closed() => {}
            }
        });
        client
    }

    fn socket(&self, nsp: &str) -> Option<Arc<Socket>> {
        self.sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(nsp)
            .filter(|socket| socket.is_connected())
            .cloned()
    }

    fn decoded(
        &self,
        decoded: Result<Decoded, Malformed>,
    ) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        match decoded {
            Ok(Decoded::Packet(packet)) => self.packet(packet),
            Ok(Decoded::Partial) => Ok(None),
            Err(malformed) => {
                tracing::debug!(sid = %self.session.sid, %malformed, "malformed Socket.IO packet");
                metrics::counter!("socketio_malformed_packets_total").increment(1);
                Err(CloseReason::ProtocolError)
            }
        }
    }

    fn packet(&self, packet: Inbound) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        if let Inbound::Connect { nsp, auth } = packet {
            self.connect_seen.store(true, Ordering::Release);
            return Ok(self.connect(nsp, auth));
        }
        // The protocol: a client's first packet is a CONNECT.
        if !self.connect_seen.load(Ordering::Acquire) {
            return Err(CloseReason::ProtocolError);
        }
        match packet {
            Inbound::Connect { .. } => Ok(None),
            Inbound::Disconnect { nsp } => {
                let socket = self
                    .sockets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&nsp);
                if let Some(socket) = socket {
                    let ns = self.namespace(&nsp);
                    if let Some(ns) = ns {
                        ns.socket_left(&socket, DisconnectReason::ClientNamespaceDisconnect);
                    }
                }
                Ok(None)
            }
            Inbound::Event {
                nsp,
                name,
                args,
                attachments,
                ack,
            } => {
                // An event for a namespace the client is not connected to is dropped, as the
                // reference server does (it may have been sent before a disconnect).
                let (Some(socket), Some(ns)) = (self.socket(&nsp), self.namespace(&nsp)) else {
                    return Ok(None);
                };
                metrics::counter!("socketio_events_received_total").increment(1);
                let ack = ack.map(|id| Ack::new(Arc::clone(&socket), id));
                let event = Event {
                    name,
                    args,
                    attachments,
                    ack,
                };
                Ok(Some(ns.handler().event(socket, event)))
            }
            Inbound::Ack {
                nsp,
                id,
                args,
                attachments,
            } => {
                if let Some(socket) = self.socket(&nsp) {
                    socket.acked(id, AckReply { args, attachments });
                }
                Ok(None)
            }
        }
    }

    fn namespace(&self, nsp: &str) -> Option<Arc<Namespace>> {
        self.io.upgrade()?.namespace(nsp)
    }

    /// A `CONNECT`: an unknown namespace is refused at once; a known one asks its handler.
    fn connect(
        &self,
        nsp: String,
        auth: Option<serde_json::Value>,
    ) -> Option<BoxFuture<'static, ()>> {
        let Some(ns) = self.namespace(&nsp) else {
            metrics::counter!("socketio_connect_refused_total", "reason" => "namespace")
                .increment(1);
            self.session
                .send(packet::connect_error(&nsp, "Invalid namespace", None));
            return None;
        };
        if self.socket(&nsp).is_some() {
            // Connected already: nothing changes.
            return None;
        }
        let socket = Arc::new(Socket::new(Arc::clone(&ns), Arc::clone(&self.session)));
        let session = Arc::clone(&self.session);
        let sockets = Arc::clone(&self.sockets);
        Some(Box::pin(async move {
            match ns.handler().connect(Arc::clone(&socket), auth).await {
                Ok(()) if !session.is_closed() => {
                    sockets
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(nsp.clone(), Arc::clone(&socket));
                    ns.socket_joined(&socket);
                    session.send(packet::connect(&nsp, socket.id().as_str()));
                    ns.handler().connected(&socket);
                    // Closed meanwhile: `closed` may have missed this socket.
                    if session.is_closed() {
                        ns.socket_left(
                            &socket,
                            DisconnectReason::Transport(
                                session
                                    .close_reason()
                                    .unwrap_or(CloseReason::TransportClose),
                            ),
                        );
                    }
                }
                Ok(()) => {}
                Err(refusal) => {
                    metrics::counter!("socketio_connect_refused_total", "reason" => "handler")
                        .increment(1);
                    session.send(packet::connect_error(
                        &nsp,
                        &refusal.message,
                        refusal.data.as_ref(),
                    ));
                }
            }
        }))
    }
}

impl Connection for Client {
    fn message(&self, text: &str) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        self.decoded(self.decoder.text(text))
    }

    fn binary(&self, data: Bytes) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        self.decoded(self.decoder.binary(data))
    }

    fn closed(&self, reason: CloseReason) {
        let sockets: Vec<(String, Arc<Socket>)> = self
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        for (nsp, socket) in sockets {
            if let Some(ns) = self.namespace(&nsp) {
                ns.socket_left(&socket, DisconnectReason::Transport(reason));
            }
        }
    }
}
