//! Namespaces: what a server does with the sockets that connect to each (its [`Handler`]), and
//! their rooms on this replica.

use super::rooms::Rooms;
use super::socket::{DisconnectReason, Event, Socket};
use crate::adapter::Adapter;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

/// Why a `CONNECT` is refused: the message goes to the client in `CONNECT_ERROR`, which it
/// shows as the error's `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// Details a client can act on (`{"code": "TOKEN_EXPIRED"}`), sent as the error's `data`.
    pub data: Option<Value>,
}

impl Refusal {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// What a namespace does with its sockets. Each method's future runs to its end before the
/// client's next packet is handled, so a socket's events are handled in the order sent.
pub trait Handler: Send + Sync + 'static {
    /// Whether `socket` may connect, given the client's `auth` payload; keep what it proves
    /// with [`Socket::set_data`].
    fn connect(
        &self,
        socket: Arc<Socket>,
        auth: Option<Value>,
    ) -> BoxFuture<'static, Result<(), Refusal>>;

    /// The socket is connected and the client told so: join rooms, greet.
    fn connected(&self, _socket: &Arc<Socket>) {}

    /// An event from the client.
    fn event(&self, socket: Arc<Socket>, event: Event) -> BoxFuture<'static, ()>;

    /// The socket left the namespace.
    fn disconnected(&self, _socket: Arc<Socket>, _reason: DisconnectReason) {}
}

/// One namespace on this replica.
pub struct Namespace {
    name: String,
    handler: Arc<dyn Handler>,
    rooms: Rooms,
    adapter: Arc<dyn Adapter>,
}

impl Namespace {
    pub(crate) fn new(name: String, handler: Arc<dyn Handler>, adapter: Arc<dyn Adapter>) -> Self {
        Self {
            name,
            handler,
            rooms: Rooms::new(),
            adapter,
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn handler(&self) -> &Arc<dyn Handler> {
        &self.handler
    }

    pub(crate) fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// Sockets connected here.
    #[must_use]
    pub fn socket_count(&self) -> usize {
        self.rooms.socket_count()
    }

    /// The sockets connected here.
    #[must_use]
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.rooms.targets(&[], None)
    }

    /// The sockets of `room` on this replica.
    #[must_use]
    pub fn sockets_in(&self, room: &str) -> Vec<Arc<Socket>> {
        self.rooms.targets(&[room.to_owned()], None)
    }

    /// Whether `room` has a socket on this replica.
    #[must_use]
    pub fn has_room(&self, room: &str) -> bool {
        self.rooms.has(room)
    }

    pub(crate) fn socket_joined(&self, socket: &Arc<Socket>) {
        socket.mark_connected();
        self.rooms.add_socket(socket);
        metrics::gauge!("socketio_sockets", "nsp" => self.name.clone()).increment(1.0);
    }

    /// Takes `socket` out (once) and tells the handler.
    pub(crate) fn socket_left(&self, socket: &Arc<Socket>, reason: DisconnectReason) {
        if socket.leave_all() {
            self.rooms.remove_socket(socket.id());
            metrics::gauge!("socketio_sockets", "nsp" => self.name.clone()).decrement(1.0);
            self.handler.disconnected(Arc::clone(socket), reason);
        }
    }
}
