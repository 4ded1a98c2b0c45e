//! One Engine.IO session: its transport, the queue of packets waiting for the client, the
//! heartbeat, and closing.
//!
//! Outbound packets go into a bounded queue whose receiving end belongs to whichever transport
//! is current: a long-polling `GET` holds it while it waits (so a second `GET` finds it taken),
//! the WebSocket task holds it for as long as the socket lives. A queue that fills up means the
//! client stopped reading: the session is closed rather than left to grow.

use super::frame::{Outgoing, PING};
use super::sid::Sid;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// The transport a session is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Polling,
    Websocket,
}

impl Transport {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::Websocket => "websocket",
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum State {
    Polling = 0,
    /// A WebSocket of the same session answered the probe; polling requests get `noop`.
    Upgrading = 1,
    Websocket = 2,
    Closed = 3,
}

impl State {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Polling,
            1 => Self::Upgrading,
            2 => Self::Websocket,
            _ => Self::Closed,
        }
    }
}

/// Counts the open sessions by transport (`socketio_sessions{transport}`); an upgrading
/// session still counts as polling.
fn transport_gauge(state: State, change: f64) {
    let transport = match state {
        State::Polling | State::Upgrading => Transport::Polling,
        State::Websocket => Transport::Websocket,
        State::Closed => return,
    };
    metrics::gauge!("socketio_sessions", "transport" => transport.as_str()).increment(change);
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent `close`.
    ClientClose,
    /// The client's connection went away.
    TransportClose,
    /// No pong within `pingTimeout`.
    PingTimeout,
    /// A packet the protocol does not allow (malformed, or a forbidden sequence).
    ProtocolError,
    /// A second `GET` (or `POST`) while one was active.
    DuplicateRequest,
    /// More than `maxPayload` bytes in one request or message.
    PayloadTooLarge,
    /// The client did not read its packets fast enough.
    SlowClient,
    /// No namespace connected within the connect timeout.
    ConnectTimeout,
    /// The server closed it (shutdown, a revoked token...).
    ServerClose,
}

impl CloseReason {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientClose => "client close",
            Self::TransportClose => "transport close",
            Self::PingTimeout => "ping timeout",
            Self::ProtocolError => "parse error",
            Self::DuplicateRequest => "duplicate request",
            Self::PayloadTooLarge => "payload too large",
            Self::SlowClient => "slow client",
            Self::ConnectTimeout => "connect timeout",
            Self::ServerClose => "server close",
        }
    }
}

/// What the request that opened a session looked like.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The client's address (`X-Forwarded-For` from the gateway when there is one).
    pub ip: Option<IpAddr>,
    /// `X-Request-Id` of the opening request, for logs.
    pub request_id: Option<String>,
    /// `traceparent` of the opening request.
    pub traceparent: Option<String>,
    /// The query string of the opening request.
    pub query: String,
}

/// What the layer above (Socket.IO, or a test's echo) does with a session's packets.
pub trait Connection: Send + Sync + 'static {
    /// A text message. `Err` closes the session (the packet was malformed); a future is run to
    /// completion before the next packet of the session is handed over.
    fn message(&self, text: &str) -> Result<Option<BoxFuture<'static, ()>>, CloseReason>;
    /// A binary message (an attachment).
    fn binary(&self, data: Bytes) -> Result<Option<BoxFuture<'static, ()>>, CloseReason>;
    /// The session ended; called once.
    fn closed(&self, reason: CloseReason);
}

/// One session. Shared by the transports serving it and the layer above.
pub struct Session {
    pub sid: Sid,
    pub handshake: Handshake,
    state: AtomicU8,
    tx: mpsc::Sender<Outgoing>,
    /// The receiving end of the queue, held by the current transport.
    pub(crate) rx: tokio::sync::Mutex<mpsc::Receiver<Outgoing>>,
    closed: CancellationToken,
    close_reason: Mutex<Option<CloseReason>>,
    /// Wakes a waiting `GET` when an upgrade begins.
    pub(crate) upgrading: Notify,
    awaiting_pong: AtomicBool,
    pong: Notify,
    /// A `POST` is being handled.
    pub(crate) posting: AtomicBool,
    /// The layer above; dropped at close, which breaks the cycle between the two.
    connection: Mutex<Option<Arc<dyn Connection>>>,
    /// Handlers waiting their turn, and whether a task is running them.
    handlers: Mutex<Handlers>,
    /// A handler finished (the transports read again when they had stopped).
    pub(crate) handled: Notify,
}

#[derive(Default)]
struct Handlers {
    queue: VecDeque<BoxFuture<'static, ()>>,
    running: bool,
}

impl Session {
    pub(crate) fn new(sid: Sid, transport: Transport, handshake: Handshake, queue: usize) -> Self {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let state = match transport {
            Transport::Polling => State::Polling,
            Transport::Websocket => State::Websocket,
        };
        transport_gauge(state, 1.0);
        Self {
            sid,
            handshake,
            state: AtomicU8::new(state as u8),
            tx,
            rx: tokio::sync::Mutex::new(rx),
            closed: CancellationToken::new(),
            close_reason: Mutex::new(None),
            upgrading: Notify::new(),
            awaiting_pong: AtomicBool::new(false),
            pong: Notify::new(),
            posting: AtomicBool::new(false),
            connection: Mutex::new(None),
            handlers: Mutex::default(),
            handled: Notify::new(),
        }
    }

    fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The transport in use (a session being upgraded is still on polling).
    #[must_use]
    pub fn transport(&self) -> Transport {
        match self.state() {
            State::Websocket => Transport::Websocket,
            _ => Transport::Polling,
        }
    }

    pub(crate) fn is_polling(&self) -> bool {
        self.state() == State::Polling
    }

    pub(crate) fn is_upgrading(&self) -> bool {
        self.state() == State::Upgrading
    }

    /// Polling → upgrading, when a WebSocket of this session answered the probe.
    pub(crate) fn begin_upgrade(&self) -> bool {
        let begun = self
            .state
            .compare_exchange(
                State::Polling as u8,
                State::Upgrading as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if begun {
            self.upgrading.notify_waiters();
        }
        begun
    }

    /// Upgrading → WebSocket (the client sent `upgrade`).
    pub(crate) fn finish_upgrade(&self) -> bool {
        let finished = self
            .state
            .compare_exchange(
                State::Upgrading as u8,
                State::Websocket as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if finished {
            transport_gauge(State::Polling, -1.0);
            transport_gauge(State::Websocket, 1.0);
        }
        finished
    }

    /// Upgrading → polling again (the WebSocket went away before `upgrade`).
    pub(crate) fn abandon_upgrade(&self) {
        let _ = self.state.compare_exchange(
            State::Upgrading as u8,
            State::Polling as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Resolves when the session has closed.
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.closed.cancelled()
    }

    /// Why it closed, once it has.
    #[must_use]
    pub fn close_reason(&self) -> Option<CloseReason> {
        *self
            .close_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `packet` for the client. A full queue closes the session (the client stopped
    /// reading); a closed session drops it. Answers whether it was queued.
    pub fn send(&self, packet: Outgoing) -> bool {
        if self.is_closed() {
            return false;
        }
        match self.tx.try_send(packet) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CloseReason::SlowClient);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Ends the session (once): the transports see it and stop, the layer above is told.
    pub fn close(&self, reason: CloseReason) {
        {
            let mut current = self
                .close_reason
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.is_some() {
                return;
            }
            *current = Some(reason);
        }
        let was = State::from_u8(self.state.swap(State::Closed as u8, Ordering::AcqRel));
        transport_gauge(was, -1.0);
        metrics::counter!("socketio_sessions_closed_total", "reason" => reason.as_str())
            .increment(1);
        self.closed.cancel();
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(connection) = connection {
            connection.closed(reason);
        }
    }

    pub(crate) fn attach(&self, connection: Arc<dyn Connection>) {
        *self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(connection);
    }

    pub(crate) fn connection(&self) -> Option<Arc<dyn Connection>> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `handler` after those queued before it, on a task of its own: the transports keep
    /// reading meanwhile (pongs, and acks a handler may be waiting for), while the session's
    /// events are handled one at a time, in the order they came.
    pub(crate) fn run_handler(self: &Arc<Self>, handler: BoxFuture<'static, ()>) {
        let mut handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
        handlers.queue.push_back(handler);
        if !handlers.running {
            handlers.running = true;
            tokio::spawn(Arc::clone(self).run_handlers());
        }
    }

    async fn run_handlers(self: Arc<Self>) {
        loop {
            let next = {
                let mut handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
                match handlers.queue.pop_front() {
                    Some(next) => next,
                    None => {
                        handlers.running = false;
                        return;
                    }
                }
            };
            next.await;
            self.handled.notify_one();
        }
    }

    /// Handlers queued or running.
    pub(crate) fn handlers_pending(&self) -> usize {
        let handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
        handlers.queue.len() + usize::from(handlers.running)
    }

    /// The client answered a ping.
    pub(crate) fn ponged(&self) {
        if self.awaiting_pong.swap(false, Ordering::AcqRel) {
            self.pong.notify_one();
        }
    }

    /// Pings every `interval` and closes the session when a pong takes longer than
    /// `timeout`. Runs until the session closes.
    pub(crate) async fn heartbeat(self: Arc<Self>, interval: Duration, timeout: Duration) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {},
                () = self.closed.cancelled() => return,
            }
            self.awaiting_pong.store(true, Ordering::Release);
            if !self.send(Outgoing::control(PING)) {
                return;
            }
            tokio::select! {
                () = self.pong.notified() => {},
                () = tokio::time::sleep(timeout) => {
                    self.close(CloseReason::PingTimeout);
                    return;
                }
                () = self.closed.cancelled() => return,
            }
        }
    }
}
