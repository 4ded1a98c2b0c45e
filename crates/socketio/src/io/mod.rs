//! Socket.IO v5 on top of the engine: namespaces, sockets, rooms, broadcasts and acks.

mod client;
pub mod namespace;
pub mod packet;
mod rooms;
pub mod socket;

use crate::adapter::Adapter;
use crate::config::Config;
use crate::engine::session::{Connection, Session};
use crate::engine::sid::NodeId;
use crate::engine::{Engine, Opener, Outgoing};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use namespace::{Handler, Namespace};
use serde_json::Value;
use socket::SocketId;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

pub(crate) struct IoInner {
    pub(crate) engine: Engine,
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    adapter: Arc<dyn Adapter>,
}

impl IoInner {
    pub(crate) fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

struct SocketIoOpener(Weak<IoInner>);

impl Opener for SocketIoOpener {
    fn open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        client::Client::new(self.0.clone(), Arc::clone(session))
    }
}

/// A Socket.IO server on this replica. Cheap to clone.
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<IoInner>,
}

impl SocketIo {
    /// A server for `config` on replica `node`, whose rooms reach other replicas through
    /// `adapter` ([`crate::adapter::LocalAdapter`] for one replica alone).
    #[must_use]
    pub fn new(config: Config, node: NodeId, adapter: Arc<dyn Adapter>) -> Self {
        let engine = Engine::new(config, node);
        let inner = Arc::new(IoInner {
            engine: engine.clone(),
            namespaces: RwLock::default(),
            adapter,
        });
        engine.set_opener(Arc::new(SocketIoOpener(Arc::downgrade(&inner))));
        Self { inner }
    }

    /// Serves namespace `name` (`/`, `/admin`) with `handler`. A client asking for a namespace
    /// not served gets `CONNECT_ERROR` "Invalid namespace".
    pub fn namespace(&self, name: &str, handler: Arc<dyn Handler>) -> Arc<Namespace> {
        let ns = Arc::new(Namespace::new(
            name.to_owned(),
            handler,
            Arc::clone(&self.inner.adapter),
        ));
        self.inner
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), Arc::clone(&ns));
        ns
    }

    /// Namespace `name`, if served.
    #[must_use]
    pub fn of(&self, name: &str) -> Option<Arc<Namespace>> {
        self.inner.namespace(name)
    }

    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Answers a request to the Engine.IO path (`/socket.io/`).
    pub async fn handle(&self, req: HttpRequest, body: web::Payload) -> HttpResponse {
        self.inner.engine.handle(req, body).await
    }

    /// A broadcast in the main namespace to `room`, on every replica.
    #[must_use]
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        self.broadcast("/").to(room)
    }

    /// A broadcast in namespace `nsp` (to every socket unless rooms are named). Nothing is sent
    /// if the namespace is not served.
    #[must_use]
    pub fn broadcast(&self, nsp: &str) -> Broadcast {
        Broadcast {
            ns: self.inner.namespace(nsp),
            rooms: Vec::new(),
            except: None,
            local: false,
        }
    }

    /// Delivers a packet another replica broadcast to the sockets of `rooms` here.
    pub(crate) fn deliver_remote(&self, nsp: &str, rooms: &[String], packet: &Outgoing) -> usize {
        match self.inner.namespace(nsp) {
            Some(ns) => deliver(&ns, rooms, None, packet),
            None => 0,
        }
    }

    /// Namespaces served, for an adapter resubscribing after a reconnection.
    pub(crate) fn namespaces(&self) -> Vec<Arc<Namespace>> {
        self.inner
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

fn deliver(ns: &Namespace, rooms: &[String], except: Option<SocketId>, packet: &Outgoing) -> usize {
    let targets = ns.rooms().targets(rooms, except);
    let mut sent = 0;
    for socket in &targets {
        if socket.send(packet.clone()) {
            sent += 1;
        }
    }
    if sent > 0 {
        metrics::counter!("socketio_packets_delivered_total").increment(sent as u64);
    }
    sent
}

/// A packet for several sockets: the rooms named (every socket of the namespace when none),
/// perhaps without the sender, on every replica unless [`Broadcast::local`].
#[derive(Clone)]
pub struct Broadcast {
    ns: Option<Arc<Namespace>>,
    rooms: Vec<String>,
    except: Option<SocketId>,
    local: bool,
}

impl Broadcast {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        Self {
            ns: Some(ns),
            rooms: Vec::new(),
            except: None,
            local: false,
        }
    }

    /// Adds `room` to the targets.
    #[must_use]
    pub fn to(mut self, room: impl Into<String>) -> Self {
        let room = room.into();
        if !self.rooms.contains(&room) {
            self.rooms.push(room);
        }
        self
    }

    /// Leaves the socket `id` out.
    #[must_use]
    pub fn except(mut self, id: SocketId) -> Self {
        self.except = Some(id);
        self
    }

    /// Only this replica's sockets.
    #[must_use]
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Emits `event` with `args`; answers how many sockets of this replica it was queued for.
    pub fn emit(&self, event: &str, args: &[Value]) -> usize {
        self.emit_with_attachments(event, args, Vec::new())
    }

    /// Emits `event` with `args` referring to binary `attachments`.
    pub fn emit_with_attachments(
        &self,
        event: &str,
        args: &[Value],
        attachments: Vec<Bytes>,
    ) -> usize {
        let Some(ns) = &self.ns else {
            return 0;
        };
        self.send(
            ns,
            &packet::event(ns.name(), event, args, attachments, None),
        )
    }

    /// Emits an event whose whole payload (`["name", ...args]`) the caller serialised.
    pub fn emit_json(&self, payload: &str) -> usize {
        let Some(ns) = &self.ns else {
            return 0;
        };
        self.send(ns, &packet::event_json(ns.name(), payload))
    }

    fn send(&self, ns: &Namespace, packet: &Outgoing) -> usize {
        let sent = deliver(ns, &self.rooms, self.except, packet);
        if !self.local {
            ns.adapter().publish(ns.name(), &self.rooms, packet);
        }
        sent
    }
}
