//! The Redis adapter: a room spans every replica.
//!
//! A broadcast to one room is published on that room's channel (`<prefix>#<nsp>#<room>#`), to
//! several rooms or a whole namespace on the namespace's channel (`<prefix>#<nsp>#`). Each
//! replica subscribes to the namespace channels and, as the first of its sockets joins a room,
//! to that room's channel (and leaves it with the last one), so a replica receives only what
//! its sockets can use (the `dynamic` subscription mode of `@socket.io/redis-adapter`).
//! Publishing is pipelined by one task; the subscription resubscribes everything after Redis
//! comes back. Broadcasts made while Redis is away reach this replica's sockets only (counted),
//! as with the reference adapter: live events are not stored.

use super::Adapter;
use crate::engine::Outgoing;
use crate::engine::sid::NodeId;
use crate::io::SocketIo;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Broadcasts waiting to be published before new ones are dropped (Redis is too slow).
const PUBLISH_QUEUE: usize = 16_384;
/// Broadcasts sent in one pipeline.
const PIPELINE: usize = 512;
/// Channels per SUBSCRIBE or UNSUBSCRIBE command.
const SUBSCRIBE_CHUNK: usize = 500;
/// How long Redis may take to answer before the connection counts as lost.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often the subscription is checked (a silent link must not keep it "up").
const PING_EVERY: Duration = Duration::from_secs(5);

/// A broadcast as it travels between replicas.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// The publishing replica (which ignores its own).
    n: String,
    /// The namespace.
    s: String,
    /// The rooms (empty: every socket).
    r: Vec<String>,
    /// The Engine.IO frame's text.
    t: String,
    /// Attachments, base64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    b: Vec<String>,
    /// Published at, milliseconds since the epoch (fan-out latency across replicas).
    at: u64,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[derive(Debug)]
enum Change {
    Joined(String, String),
    Left(String, String),
}

/// A broadcast on its way to Redis: the channel and the message.
type Publication = (String, Vec<u8>);

/// Backoff between reconnections: 100 ms doubling to 5 s.
struct Backoff(u32);

impl Backoff {
    fn next(&mut self) -> Duration {
        self.0 = (self.0 + 1).min(6);
        Duration::from_millis(100 * 2u64.pow(self.0 - 1)).min(Duration::from_secs(5))
    }
}

/// The Redis adapter of one replica. Start it with [`RedisAdapter::run`].
pub struct RedisAdapter {
    node: NodeId,
    prefix: String,
    client: redis::Client,
    publish_tx: mpsc::Sender<Publication>,
    publish_rx: Mutex<Option<mpsc::Receiver<Publication>>>,
    changes_tx: mpsc::UnboundedSender<Change>,
    changes_rx: Mutex<Option<mpsc::UnboundedReceiver<Change>>>,
    subscribed: AtomicBool,
    ping_every: Duration,
}

impl RedisAdapter {
    /// An adapter on the Redis at `url`, its channels named `<prefix>#...`.
    pub fn new(url: &str, prefix: &str, node: NodeId) -> Result<Arc<Self>, redis::RedisError> {
        Self::with_ping_every(url, prefix, node, PING_EVERY)
    }

    /// Like [`RedisAdapter::new`], checking the subscription every `ping_every`.
    pub fn with_ping_every(
        url: &str,
        prefix: &str,
        node: NodeId,
        ping_every: Duration,
    ) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let (publish_tx, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
        let (changes_tx, changes_rx) = mpsc::unbounded_channel();
        Ok(Arc::new(Self {
            node,
            prefix: prefix.to_owned(),
            client,
            publish_tx,
            publish_rx: Mutex::new(Some(publish_rx)),
            changes_tx,
            changes_rx: Mutex::new(Some(changes_rx)),
            subscribed: AtomicBool::new(false),
            ping_every,
        }))
    }

    /// Whether the subscription is up (for `/health`).
    #[must_use]
    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    fn namespace_channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.prefix)
    }

    fn room_channel(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.prefix)
    }

    /// Publishes and subscribes for `io` until `shutdown`. Call once.
    pub async fn run(self: Arc<Self>, io: SocketIo, shutdown: CancellationToken) {
        let publish_rx = self
            .publish_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let changes_rx = self
            .changes_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (Some(publish_rx), Some(changes_rx)) = (publish_rx, changes_rx) else {
            tracing::error!("the Redis adapter was started twice");
            return;
        };
        tokio::join!(
            self.publishing(publish_rx, &shutdown),
            self.subscribing(&io, changes_rx, &shutdown),
        );
    }

    async fn publishing(
        &self,
        mut queue: mpsc::Receiver<Publication>,
        shutdown: &CancellationToken,
    ) {
        let mut connection: Option<redis::aio::MultiplexedConnection> = None;
        let mut backoff = Backoff(0);
        loop {
            let first = tokio::select! {
                item = queue.recv() => item,
                () = shutdown.cancelled() => None,
            };
            let Some(first) = first else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < PIPELINE {
                match queue.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            if connection.is_none() {
                match tokio::time::timeout(
                    ANSWER_WITHIN,
                    self.client.get_multiplexed_async_connection(),
                )
                .await
                {
                    Ok(Ok(opened)) => connection = Some(opened),
                    Ok(Err(err)) => tracing::warn!(%err, "adapter cannot reach Redis to publish"),
                    Err(_) => tracing::warn!("adapter: Redis did not answer in time"),
                }
            }
            let Some(conn) = connection.as_mut() else {
                metrics::counter!("socketio_adapter_publish_failed_total")
                    .increment(batch.len() as u64);
                tokio::select! {
                    () = tokio::time::sleep(backoff.next()) => {},
                    () = shutdown.cancelled() => return,
                }
                continue;
            };
            let mut pipe = redis::pipe();
            for (channel, payload) in &batch {
                pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
            }
            match tokio::time::timeout(ANSWER_WITHIN, pipe.query_async::<()>(conn)).await {
                Ok(Ok(())) => {
                    backoff = Backoff(0);
                    metrics::counter!("socketio_adapter_published_total")
                        .increment(batch.len() as u64);
                }
                failed => {
                    tracing::warn!(?failed, "adapter: publishing to Redis failed");
                    metrics::counter!("socketio_adapter_publish_failed_total")
                        .increment(batch.len() as u64);
                    connection = None;
                }
            }
        }
    }

    async fn subscribing(
        &self,
        io: &SocketIo,
        mut changes: mpsc::UnboundedReceiver<Change>,
        shutdown: &CancellationToken,
    ) {
        let mut backoff = Backoff(0);
        while !shutdown.is_cancelled() {
            match self
                .subscription(io, &mut changes, shutdown, &mut backoff)
                .await
            {
                Ok(()) => return,
                Err(err) => {
                    self.subscribed.store(false, Ordering::Release);
                    metrics::gauge!("socketio_adapter_subscribed").set(0.0);
                    tracing::warn!(%err, "adapter lost its Redis subscription; subscribing again");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next()) => {},
                        () = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    /// One subscription, from connecting until it fails (`Err`) or shutdown (`Ok`).
    async fn subscription(
        &self,
        io: &SocketIo,
        changes: &mut mpsc::UnboundedReceiver<Change>,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let pubsub = tokio::time::timeout(ANSWER_WITHIN, self.client.get_async_pubsub())
            .await
            .map_err(|_| "no answer".to_owned())?
            .map_err(|err| err.to_string())?;
        let (mut sink, mut messages) = pubsub.split();
        // Everything this replica needs now: its namespaces and the rooms it has sockets in.
        let mut subscribed: HashSet<String> = HashSet::new();
        let mut wanted = Vec::new();
        for ns in io.namespaces() {
            wanted.push(self.namespace_channel(ns.name()));
            for room in ns.rooms().names() {
                wanted.push(self.room_channel(ns.name(), &room));
            }
        }
        // Changes queued before now are covered by that list.
        while changes.try_recv().is_ok() {}
        for chunk in wanted.chunks(SUBSCRIBE_CHUNK) {
            tokio::time::timeout(ANSWER_WITHIN, sink.subscribe(chunk))
                .await
                .map_err(|_| "SUBSCRIBE: no answer".to_owned())?
                .map_err(|err| err.to_string())?;
        }
        subscribed.extend(wanted);
        self.subscribed.store(true, Ordering::Release);
        metrics::gauge!("socketio_adapter_subscribed").set(1.0);
        *backoff = Backoff(0);
        tracing::info!(channels = subscribed.len(), "adapter subscribed to Redis");
        let mut ping = tokio::time::interval(self.ping_every);
        ping.tick().await;
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => self.received(io, message.get_payload_bytes()),
                    None => return Err("the subscription ended".into()),
                },
                change = changes.recv() => {
                    let Some(change) = change else { return Ok(()) };
                    let mut batch = vec![change];
                    while let Ok(change) = changes.try_recv() {
                        batch.push(change);
                    }
                    self.reconcile(io, batch, &mut subscribed, &mut sink).await?;
                }
                _ = ping.tick() => {
                    tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>())
                        .await
                        .map_err(|_| "PING: no answer".to_owned())?
                        .map_err(|err| err.to_string())?;
                }
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Subscribes to the rooms that gained their first local socket and leaves those that
    /// lost their last, as things stand now (a join quickly followed by a leave is nothing).
    async fn reconcile(
        &self,
        io: &SocketIo,
        batch: Vec<Change>,
        subscribed: &mut HashSet<String>,
        sink: &mut redis::aio::PubSubSink,
    ) -> Result<(), String> {
        let mut join = Vec::new();
        let mut leave = Vec::new();
        let mut seen = HashSet::new();
        for change in batch {
            let (Change::Joined(nsp, room) | Change::Left(nsp, room)) = change;
            let channel = self.room_channel(&nsp, &room);
            if !seen.insert(channel.clone()) {
                continue;
            }
            let wanted = io.of(&nsp).is_some_and(|ns| ns.has_room(&room));
            match (wanted, subscribed.contains(&channel)) {
                (true, false) => join.push(channel),
                (false, true) => leave.push(channel),
                _ => {}
            }
        }
        for chunk in join.chunks(SUBSCRIBE_CHUNK) {
            tokio::time::timeout(ANSWER_WITHIN, sink.subscribe(chunk))
                .await
                .map_err(|_| "SUBSCRIBE: no answer".to_owned())?
                .map_err(|err| err.to_string())?;
            subscribed.extend(chunk.iter().cloned());
        }
        for chunk in leave.chunks(SUBSCRIBE_CHUNK) {
            tokio::time::timeout(ANSWER_WITHIN, sink.unsubscribe(chunk))
                .await
                .map_err(|_| "UNSUBSCRIBE: no answer".to_owned())?
                .map_err(|err| err.to_string())?;
            for channel in chunk {
                subscribed.remove(channel);
            }
        }
        Ok(())
    }

    fn received(&self, io: &SocketIo, payload: &[u8]) {
        let Ok(wire) = serde_json::from_slice::<Wire>(payload) else {
            metrics::counter!("socketio_adapter_unreadable_total").increment(1);
            return;
        };
        if wire.n == self.node.as_str() {
            return;
        }
        let attachments: Vec<Bytes> = wire
            .b
            .iter()
            .filter_map(|b| STANDARD.decode(b).ok().map(Bytes::from))
            .collect();
        let age = Duration::from_millis(now_millis().saturating_sub(wire.at));
        let packet = Outgoing {
            text: ByteString::from(wire.t),
            attachments: (!attachments.is_empty()).then(|| attachments.into()),
            published: Instant::now().checked_sub(age),
        };
        metrics::counter!("socketio_adapter_received_total").increment(1);
        io.deliver_remote(&wire.s, &wire.r, &packet);
    }
}

impl Adapter for RedisAdapter {
    fn joined(&self, nsp: &str, room: &str) {
        let _ = self
            .changes_tx
            .send(Change::Joined(nsp.to_owned(), room.to_owned()));
    }

    fn left(&self, nsp: &str, room: &str) {
        let _ = self
            .changes_tx
            .send(Change::Left(nsp.to_owned(), room.to_owned()));
    }

    fn publish(&self, nsp: &str, rooms: &[String], packet: &Outgoing) {
        let channel = match rooms {
            [room] => self.room_channel(nsp, room),
            _ => self.namespace_channel(nsp),
        };
        let wire = Wire {
            n: self.node.as_str().to_owned(),
            s: nsp.to_owned(),
            r: rooms.to_vec(),
            t: packet.text.to_string(),
            b: packet
                .attachments
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|bin| STANDARD.encode(bin))
                .collect(),
            at: now_millis(),
        };
        let Ok(payload) = serde_json::to_vec(&wire) else {
            return;
        };
        if self.publish_tx.try_send((channel, payload)).is_err() {
            metrics::counter!("socketio_adapter_publish_failed_total").increment(1);
        }
    }
}
