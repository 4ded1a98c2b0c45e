//! A socket: one client connected to one namespace. What a handler holds to answer, emit,
//! join and leave rooms, and broadcast.

use super::namespace::Namespace;
use super::packet;
use crate::engine::Outgoing;
use crate::engine::session::{CloseReason, Handshake, Session, Transport};
use bytes::Bytes;
use serde_json::Value;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// A socket's id, sent to the client in the `CONNECT` answer.
pub type SocketId = engineioxide_core::Sid;

/// Why a socket left its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent `DISCONNECT` for the namespace.
    ClientNamespaceDisconnect,
    /// The server disconnected the socket ([`Socket::disconnect`]).
    ServerNamespaceDisconnect,
    /// The whole session ended.
    Transport(CloseReason),
}

impl DisconnectReason {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::Transport(reason) => reason.as_str(),
        }
    }
}

/// The client's answer to an event the server sent with an ack.
#[derive(Debug, Clone, PartialEq)]
pub struct AckReply {
    pub args: Vec<Value>,
    pub attachments: Vec<Bytes>,
}

/// Why no ack came.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AckError {
    #[error("the client did not answer in time")]
    Timeout,
    #[error("the socket disconnected")]
    Disconnected,
}

/// One client in one namespace.
pub struct Socket {
    id: SocketId,
    ns: Arc<Namespace>,
    session: Arc<Session>,
    data: OnceLock<Box<dyn Any + Send + Sync>>,
    /// The rooms joined; its lock also orders joins against the disconnect.
    rooms: Mutex<HashSet<String>>,
    connected: AtomicBool,
    acks: Mutex<HashMap<i64, oneshot::Sender<AckReply>>>,
    next_ack: AtomicI64,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id.as_str())
            .field("nsp", &self.ns.name())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(ns: Arc<Namespace>, session: Arc<Session>) -> Self {
        Self {
            id: SocketId::new(),
            ns,
            session,
            data: OnceLock::new(),
            rooms: Mutex::new(HashSet::new()),
            connected: AtomicBool::new(false),
            acks: Mutex::new(HashMap::new()),
            next_ack: AtomicI64::new(0),
        }
    }

    #[must_use]
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// The namespace's name (`/`).
    #[must_use]
    pub fn nsp(&self) -> &str {
        self.ns.name()
    }

    /// What the request that opened the session carried (address, request id).
    #[must_use]
    pub fn handshake(&self) -> &Handshake {
        &self.session.handshake
    }

    /// The transport the session is on now.
    #[must_use]
    pub fn transport(&self) -> Transport {
        self.session.transport()
    }

    /// The Engine.IO session id.
    #[must_use]
    pub fn session_id(&self) -> crate::Sid {
        self.session.sid
    }

    /// Keeps `data` with the socket (once; what authentication found, typically).
    pub fn set_data<T: Any + Send + Sync>(&self, data: T) {
        let _ = self.data.set(Box::new(data));
    }

    /// The data kept with [`Socket::set_data`], if it is a `T`.
    #[must_use]
    pub fn data<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.data.get().and_then(|data| data.downcast_ref())
    }

    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    fn rooms_lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `packet` for this client; `false` if it could not be (closed, or too slow).
    pub(crate) fn send(&self, packet: Outgoing) -> bool {
        self.session.send(packet)
    }

    /// Emits `event` with `args` to this client.
    pub fn emit(&self, event: &str, args: &[Value]) -> bool {
        metrics::counter!("socketio_events_sent_total").increment(1);
        self.send(packet::event(self.nsp(), event, args, Vec::new(), None))
    }

    /// Emits `event` with `args` referring to binary `attachments` by
    /// `{"_placeholder": true, "num": n}` (`BINARY_EVENT`).
    pub fn emit_with_attachments(
        &self,
        event: &str,
        args: &[Value],
        attachments: Vec<Bytes>,
    ) -> bool {
        metrics::counter!("socketio_events_sent_total").increment(1);
        self.send(packet::event(self.nsp(), event, args, attachments, None))
    }

    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<AckReply, AckError> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.acks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        if !self.is_connected()
            || !self.send(packet::event(self.nsp(), event, args, Vec::new(), Some(id)))
        {
            self.acks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            return Err(AckError::Disconnected);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.acks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                Err(AckError::Timeout)
            }
        }
    }

    /// The client acknowledged event `id`.
    pub(crate) fn acked(&self, id: i64, reply: AckReply) {
        let waiting = self
            .acks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(waiting) = waiting {
            let _ = waiting.send(reply);
        }
    }

    /// Joins `room`; `false` if already in it or disconnected.
    pub fn join(self: &Arc<Self>, room: impl Into<String>) -> bool {
        let room = room.into();
        let mut rooms = self.rooms_lock();
        if !self.is_connected() || rooms.contains(&room) {
            return false;
        }
        if self.ns.rooms().join(&room, self) {
            self.ns.adapter().joined(self.nsp(), &room);
        }
        rooms.insert(room);
        true
    }

    /// Leaves `room`; `false` if not in it.
    pub fn leave(&self, room: &str) -> bool {
        let mut rooms = self.rooms_lock();
        if !rooms.remove(room) {
            return false;
        }
        if self.ns.rooms().leave(room, self.id) {
            self.ns.adapter().left(self.nsp(), room);
        }
        true
    }

    #[must_use]
    pub fn in_room(&self, room: &str) -> bool {
        self.rooms_lock().contains(room)
    }

    /// The rooms joined.
    #[must_use]
    pub fn rooms(&self) -> Vec<String> {
        self.rooms_lock().iter().cloned().collect()
    }

    /// A broadcast to `room` that leaves this socket out (the sender).
    #[must_use]
    pub fn to(&self, room: impl Into<String>) -> super::Broadcast {
        super::Broadcast::new(Arc::clone(&self.ns))
            .to(room)
            .except(self.id)
    }

    /// A broadcast to every socket of the namespace but this one.
    #[must_use]
    pub fn broadcast(&self) -> super::Broadcast {
        super::Broadcast::new(Arc::clone(&self.ns)).except(self.id)
    }

    /// Disconnects the socket from its namespace: the client is told (`DISCONNECT`) and does not
    /// reconnect by itself.
    pub fn disconnect(self: &Arc<Self>) {
        if self.is_connected() {
            self.send(packet::disconnect(self.nsp()));
        }
        self.ns
            .socket_left(self, DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Ends the client's whole session: its transport closes and the client reconnects by
    /// itself (with fresh credentials, if its `auth` is a function).
    pub fn close(&self, reason: CloseReason) {
        self.session.close(reason);
    }

    /// Marks the socket connected (its `CONNECT` was accepted).
    pub(crate) fn mark_connected(&self) {
        let _rooms = self.rooms_lock();
        self.connected.store(true, Ordering::Release);
    }

    /// Leaves every room and drops waiting acks; `false` if it was not connected.
    pub(crate) fn leave_all(&self) -> bool {
        let rooms: Vec<String> = {
            let mut rooms = self.rooms_lock();
            if !self.connected.swap(false, Ordering::AcqRel) {
                return false;
            }
            rooms.drain().collect()
        };
        for room in rooms {
            if self.ns.rooms().leave(&room, self.id) {
                self.ns.adapter().left(self.nsp(), &room);
            }
        }
        self.acks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        true
    }
}

/// The ack a client asked for with its event; answer it with [`Ack::send`].
pub struct Ack {
    socket: Arc<Socket>,
    id: i64,
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ack").field("id", &self.id).finish()
    }
}

impl Ack {
    pub(crate) fn new(socket: Arc<Socket>, id: i64) -> Self {
        Self { socket, id }
    }

    /// Answers with `args`.
    pub fn send(self, args: &[Value]) -> bool {
        self.send_with_attachments(args, Vec::new())
    }

    /// Answers with `args` and binary attachments (`BINARY_ACK`), which `args` refer to by
    /// `{"_placeholder": true, "num": n}`.
    pub fn send_with_attachments(self, args: &[Value], attachments: Vec<Bytes>) -> bool {
        self.socket
            .send(packet::ack(self.socket.nsp(), self.id, args, attachments))
    }
}

/// An event from a client.
#[derive(Debug)]
pub struct Event {
    pub name: String,
    /// The arguments after the name.
    pub args: Vec<Value>,
    /// Binary attachments, referred to from `args` by placeholders.
    pub attachments: Vec<Bytes>,
    /// Present when the client asked for an ack.
    pub ack: Option<Ack>,
}
