//! Engine.IO v4, server side: the handshake, the long-polling and WebSocket transports, the
//! upgrade from one to the other, the heartbeat and `maxPayload`
//! (<https://github.com/socketio/engine.io-protocol>).
//!
//! [`Engine::handle`] takes every request to the Engine.IO path. A request for a session held
//! by another replica (its [`Sid`] names the replica) goes to the [`Forward`] given, which
//! sends it there (`crate::cluster`).

pub mod frame;
mod polling;
pub mod session;
pub mod sid;
mod websocket;

use crate::config::Config;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use domain::{Code, Problem};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use session::{CloseReason, Connection, Handshake, Session, Transport};
use sid::{NodeId, Sid};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

pub use frame::Outgoing;

/// Header naming the replica that forwarded a request, so that the receiver never forwards it
/// again (a session unknown there too is simply unknown).
pub const FORWARDED_HEADER: &str = "x-socketio-forwarded";

/// Makes the layer above a session's packets (Socket.IO, or a test's echo) when one opens.
pub trait Opener: Send + Sync + 'static {
    fn open(&self, session: &Arc<Session>) -> Arc<dyn Connection>;
}

/// Sends a request for a session of another replica to that replica.
pub trait Forward: Send + Sync + 'static {
    /// Answers `req` (with its `body`) for `sid`, held by `node`.
    fn forward(
        self: Arc<Self>,
        node: NodeId,
        req: HttpRequest,
        body: web::Payload,
    ) -> LocalBoxFuture<'static, HttpResponse>;
}

/// The sessions of this replica, in shards so that replicas' worker threads rarely wait on
/// one another.
struct Sessions {
    shards: Vec<RwLock<HashMap<Sid, Arc<Session>>>>,
    hasher: RandomState,
}

impl Sessions {
    const SHARDS: usize = 16;

    fn new() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, sid: &Sid) -> &RwLock<HashMap<Sid, Arc<Session>>> {
        let index =
            usize::try_from(self.hasher.hash_one(sid) % Self::SHARDS as u64).unwrap_or_default();
        &self.shards[index]
    }

    fn get(&self, sid: &Sid) -> Option<Arc<Session>> {
        self.shard(sid)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sid)
            .cloned()
    }

    fn insert(&self, session: Arc<Session>) {
        self.shard(&session.sid)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.sid, session);
    }

    fn remove(&self, sid: &Sid) {
        self.shard(sid)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(sid);
    }

    fn all(&self) -> Vec<Arc<Session>> {
        self.shards
            .iter()
            .flat_map(|shard| {
                shard
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    node: NodeId,
    sessions: Sessions,
    opener: OnceLock<Arc<dyn Opener>>,
    forward: OnceLock<Arc<dyn Forward>>,
    /// Shutting down: new sessions are refused so that clients reconnect elsewhere.
    draining: AtomicBool,
}

/// The Engine.IO server of one replica. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// The query parameters of an Engine.IO request.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    transport: Transport,
    sid: Option<Sid>,
}

/// Why a request is not an Engine.IO v4 request we can serve.
#[derive(Debug, PartialEq, Eq)]
enum QueryError {
    Protocol,
    Transport,
    Session,
}

impl QueryError {
    fn problem(&self) -> Problem {
        Problem::bad_request(match self {
            Self::Protocol => "Unsupported protocol version: EIO must be 4.",
            Self::Transport => "Transport unknown: transport must be polling or websocket.",
            Self::Session => "Session ID unknown.",
        })
    }
}

fn parse_query(query: &str) -> Result<Query, QueryError> {
    let (mut eio, mut transport, mut sid) = (None, None, None);
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "EIO" => eio = Some(value),
            "transport" => transport = Some(value),
            "sid" => sid = Some(value),
            _ => {}
        }
    }
    if eio != Some("4") {
        return Err(QueryError::Protocol);
    }
    let transport = match transport {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::Websocket,
        _ => return Err(QueryError::Transport),
    };
    let sid = sid
        .map(|sid| sid.parse::<Sid>().map_err(|_| QueryError::Session))
        .transpose()?;
    Ok(Query { transport, sid })
}

fn bad_request(detail: &str) -> HttpResponse {
    Problem::bad_request(detail).error_response()
}

impl Engine {
    /// An engine for `config`; `node` names this replica in session ids.
    #[must_use]
    pub fn new(config: Config, node: NodeId) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                node,
                sessions: Sessions::new(),
                opener: OnceLock::new(),
                forward: OnceLock::new(),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// Sets what handles the packets of new sessions (once).
    pub fn set_opener(&self, opener: Arc<dyn Opener>) {
        let _ = self.inner.opener.set(opener);
    }

    /// Sets where requests for other replicas' sessions go (once); without it they are
    /// answered as unknown sessions.
    pub fn set_forward(&self, forward: Arc<dyn Forward>) {
        let _ = self.inner.forward.set(forward);
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    #[must_use]
    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    /// The session `sid` of this replica, if it is open.
    #[must_use]
    pub fn session(&self, sid: &Sid) -> Option<Arc<Session>> {
        self.inner.sessions.get(sid)
    }

    /// Open sessions on this replica.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }

    /// Answers one request to the Engine.IO path.
    pub async fn handle(&self, req: HttpRequest, body: web::Payload) -> HttpResponse {
        let query = match parse_query(req.query_string()) {
            Ok(query) => query,
            Err(err) => return err.problem().error_response(),
        };
        let upgrade = is_websocket_upgrade(&req);
        match (query.transport, query.sid) {
            (Transport::Websocket, _) if !upgrade => {
                bad_request("The websocket transport needs a WebSocket upgrade request.")
            }
            (Transport::Polling, _) if upgrade => {
                bad_request("The polling transport takes no WebSocket upgrade.")
            }
            (transport, None) => {
                if req.method() != Method::GET {
                    return bad_request("A new session is opened with GET.");
                }
                if self.inner.draining.load(Ordering::Acquire) {
                    return Problem::new(Code::ServiceUnavailable)
                        .with_detail("This server is shutting down; connect again.")
                        .with_retry_after(1)
                        .error_response();
                }
                let handshake = handshake(&req);
                match transport {
                    Transport::Polling => polling::open(self, handshake),
                    Transport::Websocket => websocket::open(self, &req, body, handshake),
                }
            }
            (transport, Some(sid)) => {
                if sid.node() != self.inner.node {
                    return self.forward(sid, req, body).await;
                }
                let Some(session) = self.inner.sessions.get(&sid) else {
                    return QueryError::Session.problem().error_response();
                };
                match transport {
                    Transport::Polling if req.method() == Method::GET => {
                        polling::poll(&session).await
                    }
                    Transport::Polling if req.method() == Method::POST => {
                        polling::post(self, &session, body).await
                    }
                    Transport::Polling => {
                        bad_request("Long-polling takes GET (receive) and POST (send).")
                    }
                    Transport::Websocket => websocket::upgrade(self, &req, body, session),
                }
            }
        }
    }

    async fn forward(&self, sid: Sid, req: HttpRequest, body: web::Payload) -> HttpResponse {
        let forwarded = req.headers().contains_key(FORWARDED_HEADER);
        match self.inner.forward.get() {
            Some(forward) if !forwarded => Arc::clone(forward).forward(sid.node(), req, body).await,
            _ => QueryError::Session.problem().error_response(),
        }
    }

    /// Registers a new session and starts its heartbeat.
    fn create(&self, transport: Transport, handshake: Handshake) -> Arc<Session> {
        let inner = &self.inner;
        let session = Arc::new(Session::new(
            Sid::new(inner.node),
            transport,
            handshake,
            inner.config.max_buffered_packets,
        ));
        inner.sessions.insert(Arc::clone(&session));
        if let Some(opener) = inner.opener.get() {
            session.attach(opener.open(&session));
        }
        let engine = Arc::clone(inner);
        let beating = Arc::clone(&session);
        tokio::spawn(async move {
            let sid = beating.sid;
            Arc::clone(&beating)
                .heartbeat(engine.config.ping_interval, engine.config.ping_timeout)
                .await;
            beating.closed().await;
            engine.sessions.remove(&sid);
        });
        session
    }

    /// The `open` packet of `session`.
    fn open_packet(&self, session: &Session, upgrades: &[&str]) -> String {
        let config = &self.inner.config;
        let open = serde_json::json!({
            "sid": session.sid.as_str(),
            "upgrades": upgrades,
            "pingInterval": millis(config.ping_interval),
            "pingTimeout": millis(config.ping_timeout),
            "maxPayload": config.max_payload,
        });
        format!("0{open}")
    }

    /// Shutting down: refuses new sessions and closes the open ones, spread over `over` so that
    /// their clients do not all reconnect to the other replicas at once. Each client sees its
    /// transport close and reconnects by itself.
    pub async fn drain(&self, over: Duration) {
        self.inner.draining.store(true, Ordering::Release);
        let sessions = self.inner.sessions.all();
        if sessions.is_empty() {
            return;
        }
        const BATCHES: u32 = 10;
        let batch = sessions.len().div_ceil(BATCHES as usize);
        tracing::info!(
            sessions = sessions.len(),
            ?over,
            "closing sessions for shutdown"
        );
        for (index, chunk) in sessions.chunks(batch.max(1)).enumerate() {
            if index > 0 {
                tokio::time::sleep(over / BATCHES).await;
            }
            for session in chunk {
                session.close(CloseReason::ServerClose);
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// What is kept of the opening request.
fn handshake(req: &HttpRequest) -> Handshake {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    // The gateway puts the client's address it determined first (and strips what the client
    // sent); without a gateway, the peer itself.
    let ip = header("x-forwarded-for")
        .and_then(|list| list.split(',').next().and_then(|ip| ip.trim().parse().ok()))
        .or_else(|| req.peer_addr().map(|addr| addr.ip()));
    Handshake {
        ip,
        request_id: header("x-request-id"),
        traceparent: header("traceparent"),
        query: req.query_string().to_owned(),
    }
}

/// Hands one inbound packet of `session` to the layer above; the answer says whether a
/// handler future has to run, or the session must close.
pub(crate) fn dispatch(
    session: &Session,
    packet: engineioxide_core::Packet,
) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
    use engineioxide_core::Packet;
    metrics::counter!("socketio_engine_packets_received_total").increment(1);
    match packet {
        Packet::Message(text) => match session.connection() {
            Some(connection) => connection.message(&text),
            None => Ok(None),
        },
        Packet::Binary(data) => match session.connection() {
            Some(connection) => connection.binary(data),
            None => Ok(None),
        },
        Packet::Pong => {
            session.ponged();
            Ok(None)
        }
        Packet::Close => {
            session.close(CloseReason::ClientClose);
            Ok(None)
        }
        // A v3 client's ping, or a noop: nothing to do.
        Packet::Ping | Packet::Noop => Ok(None),
        // The handshake, the upgrade's packets outside an upgrade, and v3's binary.
        Packet::Open(_)
        | Packet::PingUpgrade
        | Packet::PongUpgrade
        | Packet::Upgrade
        | Packet::BinaryV3(_) => Err(CloseReason::ProtocolError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_must_name_version_4_and_a_known_transport() {
        assert_eq!(
            parse_query("EIO=4&transport=polling&t=N8hyd6w"),
            Ok(Query {
                transport: Transport::Polling,
                sid: None
            })
        );
        assert_eq!(parse_query("transport=polling"), Err(QueryError::Protocol));
        assert_eq!(
            parse_query("EIO=abc&transport=polling"),
            Err(QueryError::Protocol)
        );
        assert_eq!(
            parse_query("EIO=3&transport=polling"),
            Err(QueryError::Protocol)
        );
        assert_eq!(parse_query("EIO=4"), Err(QueryError::Transport));
        assert_eq!(
            parse_query("EIO=4&transport=abc"),
            Err(QueryError::Transport)
        );
        assert_eq!(
            parse_query("EIO=4&transport=websocket&sid=nope"),
            Err(QueryError::Session)
        );
        let sid = Sid::new(NodeId::random());
        assert_eq!(
            parse_query(&format!("EIO=4&transport=websocket&sid={sid}")),
            Ok(Query {
                transport: Transport::Websocket,
                sid: Some(sid)
            })
        );
    }
}
