//! What arrives on Redis channels, on every replica: events services publish after accepting
//! something (a driver's location, many a second, not worth the durable bus), and auth's
//! revocation notices.
//!
//! A service publishes `{"rooms": ["order:<id>"], "event": "driver-location", "data": {...}}`
//! on `REALTIME_EMIT_CHANNEL`; each replica emits it to its own sockets of those rooms (every
//! replica receives it, so nothing goes through the adapter). Auth announces each revocation
//! on `auth:revocations`; each replica closes its sockets whose token it voids, so a logout,
//! suspension or password reset ends live connections too, not only new ones. Sockets whose
//! token expires are closed the same way. A closed client reconnects and, with a fresh token,
//! is let in again.

use crate::connect::{SocketUser, user_room};
use crate::outbound::EPHEMERAL_EVENTS;
use auth_token::revocation::{CHANNEL as REVOCATIONS, Notice};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use platform::health::HealthCheck;
use serde::Deserialize;
use serde_json::Value;
use socketio::{CloseReason, Socket, SocketIo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long Redis may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often an idle subscription is checked, and expired tokens looked for.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// A message of the emit channel.
#[derive(Debug, Deserialize)]
struct Emit {
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    room: Option<String>,
    event: String,
    #[serde(default)]
    data: Value,
}

/// Emits one message of the emit channel to this replica's sockets; answers how many.
pub fn emit(io: &SocketIo, payload: &[u8]) -> usize {
    let Ok(message) = serde_json::from_slice::<Emit>(payload) else {
        metrics::counter!("realtime_ephemeral_dropped_total", "reason" => "unreadable")
            .increment(1);
        return 0;
    };
    let Some(event) = EPHEMERAL_EVENTS
        .iter()
        .find(|allowed| **allowed == message.event)
    else {
        metrics::counter!("realtime_ephemeral_dropped_total", "reason" => "event").increment(1);
        tracing::warn!(event = %message.event, "an event not allowed on the emit channel");
        return 0;
    };
    let rooms: Vec<String> = message.rooms.into_iter().chain(message.room).collect();
    if rooms.is_empty() {
        metrics::counter!("realtime_ephemeral_dropped_total", "reason" => "rooms").increment(1);
        return 0;
    }
    let mut broadcast = io.broadcast("/").local();
    for room in rooms {
        broadcast = broadcast.to(room);
    }
    metrics::counter!("realtime_events_out_total", "event" => *event).increment(1);
    broadcast.emit(event, &[message.data])
}

fn user_of(socket: &Socket) -> Option<&SocketUser> {
    socket.data::<SocketUser>()
}

fn close(sockets: impl IntoIterator<Item = Arc<Socket>>, reason: &'static str) -> usize {
    let mut closed = 0;
    for socket in sockets {
        socket.close(CloseReason::ServerClose);
        closed += 1;
    }
    if closed > 0 {
        metrics::counter!("realtime_sockets_closed_total", "reason" => reason)
            .increment(closed as u64);
    }
    closed
}

/// Closes this replica's sockets whose token `notice` voids; answers how many.
pub fn revoke(io: &SocketIo, notice: Notice) -> usize {
    let Some(ns) = io.of("/") else {
        return 0;
    };
    match notice {
        Notice::Token { jti, .. } => close(
            ns.sockets()
                .into_iter()
                .filter(|socket| user_of(socket).is_some_and(|user| user.claims.jti == jti)),
            "revoked",
        ),
        Notice::User { user, version, .. } => close(
            ns.sockets_in(&user_room(&user.to_string()))
                .into_iter()
                .filter(|socket| user_of(socket).is_some_and(|u| u.claims.ver < version)),
            "revoked",
        ),
    }
}

/// Closes this replica's sockets whose token has expired; answers how many.
pub fn expire(io: &SocketIo) -> usize {
    let Some(ns) = io.of("/") else {
        return 0;
    };
    let now = chrono::Utc::now().timestamp();
    close(
        ns.sockets()
            .into_iter()
            .filter(|socket| user_of(socket).is_some_and(|user| user.claims.exp <= now)),
        "expired",
    )
}

/// Whether the channels are subscribed (for `/health`: while they are not, driver locations
/// and revocations are missed).
#[derive(Debug, Default, Clone)]
pub struct Listening(Arc<AtomicBool>);

impl Listening {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Release);
        metrics::gauge!("realtime_channels_subscribed").set(if up { 1.0 } else { 0.0 });
    }
}

impl HealthCheck for Listening {
    fn name(&self) -> &'static str {
        "redis_channels"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let up = self.is_up();
        Box::pin(async move {
            if up {
                Ok(())
            } else {
                Err("not subscribed to the emit and revocation channels".into())
            }
        })
    }
}

/// Listens on the emit and revocation channels, and closes expired sockets, until `shutdown`.
pub async fn run(
    io: SocketIo,
    redis_url: String,
    emit_channel: String,
    listening: Listening,
    shutdown: CancellationToken,
) {
    let client = match redis::Client::open(redis_url.as_str()) {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "invalid REDIS_URL: no ephemeral events nor revocation notices");
            return;
        }
    };
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match listen(&io, &client, &emit_channel, &listening, &shutdown).await {
            Ok(()) => return,
            Err(err) => {
                listening.set(false);
                tracing::warn!(%err, "lost the Redis channels; subscribing again");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {},
                    () = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn listen(
    io: &SocketIo,
    client: &redis::Client,
    emit_channel: &str,
    listening: &Listening,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let pubsub = tokio::time::timeout(ANSWER_WITHIN, client.get_async_pubsub())
        .await
        .map_err(|_| "no answer".to_owned())?
        .map_err(|err| err.to_string())?;
    let (mut sink, mut messages) = pubsub.split();
    tokio::time::timeout(ANSWER_WITHIN, sink.subscribe(&[emit_channel, REVOCATIONS]))
        .await
        .map_err(|_| "SUBSCRIBE: no answer".to_owned())?
        .map_err(|err| err.to_string())?;
    listening.set(true);
    tracing::info!(
        channel = emit_channel,
        "listening for ephemeral events and revocations"
    );
    // Notices missed while not subscribed: a revoked token could still have a socket. Sockets
    // open now were checked when they connected; those checked before the gap are let be (a
    // revocation during an outage of Redis is as unknowable to every service).
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Err("the subscription ended".into());
                };
                let payload = message.get_payload_bytes();
                if message.get_channel_name() == REVOCATIONS {
                    if let Some(notice) = std::str::from_utf8(payload).ok().and_then(Notice::parse) {
                        revoke(io, notice);
                    }
                } else {
                    emit(io, payload);
                }
            }
            _ = every.tick() => {
                expire(io);
                tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>())
                    .await
                    .map_err(|_| "PING: no answer".to_owned())?
                    .map_err(|err| err.to_string())?;
            }
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}
