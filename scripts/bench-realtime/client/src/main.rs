//! The load generator's client for scripts/bench-realtime.sh: holds Socket.IO connections
//! (Engine.IO v4 over WebSocket, the packets socket.io-client sends with
//! `transports: ['websocket']`), publishes driver locations and times their receipt. The same
//! client measures services/realtime and the guide's Node server.
//!
//! Why not socket.io-client itself (`../loadgen/worker.js` is that client, `BENCH_CLIENT=node`):
//! on the benchmark's two cores, Node spent ~75 µs of CPU per message published and received,
//! more than realtime itself, so the knee measured the load generator. This client spends a
//! third of that or less; what it speaks is what `socket.io-client` speaks (handshake `0{...}`, CONNECT
//! `40{"token":...}`, answer `40{...}` or `44{"message":...}`, events `42[...]`, pong `3` to
//! the server's ping `2`), so both servers see the same connections as from the apps.
//!
//! Driven by bench.js over stdin/stdout, one JSON object a line each way (answers carry the
//! request's `id`); the commands are the ones of `../loadgen/worker.js`:
//!   open {url, conns: [{token, role, orderId}], concurrency}
//!   publisher {side: "ours" | "peer", redisUrl, channel}
//!   count {}                               connections open
//!   probe {timeoutMs}                      publishes until every watcher has received one
//!   step {rate, warmMs, measureMs, drainMs}
//!   close {}
//! A room's publish time travels in the payload's `speed` (ms on this process's clock; the
//! guide's server passes on only lat, lng, heading and speed), and is read back on receipt.

use futures_util::SinkExt;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Latency buckets: 0.1 ms wide up to 5 s; the last one holds later and lost messages.
const BUCKETS_PER_MS: f64 = 10.0;
const OVERFLOW: usize = 50_000;
const CONNECT_WITHIN: Duration = Duration::from_secs(60);

static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds on this process's monotonic clock.
fn now_ms() -> f64 {
    ORIGIN.elapsed().as_secs_f64() * 1000.0
}

/// What the watchers record, shared by every connection's task.
struct Stats {
    /// The measured window of the running step: publish times in [start, end) (f64 bits).
    start: AtomicU64,
    end: AtomicU64,
    received: AtomicU64,
    hist: Vec<AtomicU32>,
    connected: AtomicUsize,
}

impl Stats {
    fn new() -> Self {
        Self {
            start: AtomicU64::new(f64::INFINITY.to_bits()),
            end: AtomicU64::new(f64::INFINITY.to_bits()),
            received: AtomicU64::new(0),
            hist: (0..=OVERFLOW).map(|_| AtomicU32::new(0)).collect(),
            connected: AtomicUsize::new(0),
        }
    }

    fn record(&self, sent: f64) {
        let start = f64::from_bits(self.start.load(Ordering::Relaxed));
        let end = f64::from_bits(self.end.load(Ordering::Relaxed));
        if sent >= start && sent < end {
            let bucket = (((now_ms() - sent) * BUCKETS_PER_MS) as usize).min(OVERFLOW);
            self.hist[bucket].fetch_add(1, Ordering::Relaxed);
            self.received.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Room {
    order_id: String,
    driver: Option<mpsc::UnboundedSender<Message>>,
    reached: Arc<AtomicBool>,
}

enum Publisher {
    /// The guide's path: the driver's socket emits `driver-location-update`.
    Peer,
    /// Ours: what tracking publishes on realtime's emit channel once it accepted a location.
    Ours {
        redis: redis::aio::MultiplexedConnection,
        channel: String,
    },
}

struct State {
    stats: Arc<Stats>,
    conns: Vec<mpsc::UnboundedSender<Message>>,
    rooms: Vec<Room>,
    by_order: HashMap<String, usize>,
    publisher: Option<Publisher>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnSpec {
    token: String,
    role: String,
    #[serde(default)]
    order_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Command {
    Open {
        url: String,
        conns: Vec<ConnSpec>,
        concurrency: usize,
    },
    #[serde(rename_all = "camelCase")]
    Publisher {
        side: String,
        redis_url: String,
        channel: String,
    },
    Count {},
    #[serde(rename_all = "camelCase")]
    Probe {
        timeout_ms: u64,
    },
    #[serde(rename_all = "camelCase")]
    Step {
        rate: f64,
        warm_ms: f64,
        measure_ms: f64,
        drain_ms: u64,
    },
    Close {},
}

/// The driver's report: a position, and the publish time in `speed`.
fn location(sent: f64) -> String {
    format!(r#""lat":37.7749,"lng":-122.4194,"heading":90,"speed":{sent}"#)
}

/// One message for `room`, published at `sent`; for ours it goes in `pipe`.
fn publish(publisher: &Publisher, room: &Room, sent: f64, pipe: &mut redis::Pipeline) {
    match publisher {
        Publisher::Peer => {
            if let Some(driver) = &room.driver {
                let _ = driver.send(Message::text(format!(
                    r#"42["driver-location-update",{{"orderId":"{}",{}}}]"#,
                    room.order_id,
                    location(sent)
                )));
            }
        }
        Publisher::Ours { channel, .. } => {
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let message = format!(
                r#"{{"rooms":["order:{}"],"event":"driver-location","data":{{{},"timestamp":{timestamp}}}}}"#,
                room.order_id,
                location(sent)
            );
            pipe.cmd("PUBLISH").arg(channel).arg(message).ignore();
        }
    }
}

fn flush(publisher: &Publisher, pipe: redis::Pipeline) {
    if let Publisher::Ours { redis, .. } = publisher
        && !pipe.is_empty()
    {
        let mut redis = redis.clone();
        tokio::spawn(async move {
            if let Err(err) = pipe.query_async::<()>(&mut redis).await {
                eprintln!("PUBLISH failed: {err}");
            }
        });
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if text.as_str() == "2" {
                    ws.send(Message::text("3"))
                        .await
                        .map_err(|e| e.to_string())?;
                    continue;
                }
                return Ok(text.as_str().to_owned());
            }
            Some(Ok(Message::Close(_))) | None => return Err("closed".into()),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.to_string()),
        }
    }
}

/// Connects as socket.io-client does over WebSocket, and sends CONNECT with the token.
async fn handshake(url: &str, spec: &ConnSpec) -> Result<Ws, String> {
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        url.replacen("http://", "ws://", 1)
    );
    // TCP_NODELAY, as Node's `ws` (socket.io-client's transport) sets it: with Nagle's
    // algorithm a driver's frame could wait for the server's delayed ACK (up to 40 ms), which
    // would be charged to the peer's latency only (ours gets its messages from Redis).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(ws_url.as_str(), None, true)
        .await
        .map_err(|e| e.to_string())?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected the open packet, got {open}"));
    }
    ws.send(Message::text(format!(
        "40{}",
        json!({ "token": spec.token })
    )))
    .await
    .map_err(|e| e.to_string())?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet.starts_with("40") {
            return Ok(ws);
        }
        if let Some(error) = packet.strip_prefix("44") {
            let message = serde_json::from_str::<Value>(error)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| error.to_owned());
            return Err(message);
        }
    }
}

#[derive(Deserialize)]
struct Location {
    speed: f64,
}

/// A connection's life: answers pings, sends what the publisher queues, times the watcher's
/// `driver-location` events.
async fn run_conn(
    ws: Ws,
    mut outbox: mpsc::UnboundedReceiver<Message>,
    reached: Option<Arc<AtomicBool>>,
    stats: Arc<Stats>,
) {
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    if text == "2" {
                        if sink.send(Message::text("3")).await.is_err() {
                            break;
                        }
                    } else if let (Some(reached), Some(event)) = (&reached, text.strip_prefix("42"))
                        && event.starts_with("[\"driver-location\",")
                        && let Ok((_, location)) = serde_json::from_str::<(IgnoredAny, Location)>(event)
                    {
                        reached.store(true, Ordering::Relaxed);
                        stats.record(location.speed);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = outbox.recv() => {
                let Some(out) = out else {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                };
                let mut ok = sink.feed(out).await.is_ok();
                while ok && let Ok(more) = outbox.try_recv() {
                    ok = sink.feed(more).await.is_ok();
                }
                if !ok || sink.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    stats.connected.fetch_sub(1, Ordering::Relaxed);
}

async fn open(state: &mut State, url: String, conns: Vec<ConnSpec>, concurrency: usize) -> Value {
    let total = conns.len();
    let results: Vec<(ConnSpec, Result<Ws, String>)> = stream::iter(conns)
        .map(|spec| {
            let url = url.clone();
            async move {
                let ws = match tokio::time::timeout(CONNECT_WITHIN, handshake(&url, &spec)).await {
                    Ok(result) => result,
                    Err(_) => Err("connect timeout".into()),
                };
                (spec, ws)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut ok = 0;
    let mut errors: HashMap<String, u64> = HashMap::new();
    for (spec, ws) in results {
        let mut ws = match ws {
            Ok(ws) => ws,
            Err(err) => {
                *errors.entry(err).or_default() += 1;
                continue;
            }
        };
        ok += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut reached = None;
        if let Some(order_id) = &spec.order_id {
            let index = *state.by_order.entry(order_id.clone()).or_insert_with(|| {
                state.rooms.push(Room {
                    order_id: order_id.clone(),
                    driver: None,
                    reached: Arc::new(AtomicBool::new(false)),
                });
                state.rooms.len() - 1
            });
            let room = &mut state.rooms[index];
            match spec.role.as_str() {
                "watcher" => {
                    let track = json!(["track-order", { "orderId": order_id }]);
                    if ws.send(Message::text(format!("42{track}"))).await.is_err() {
                        *errors
                            .entry("closed before track-order".into())
                            .or_default() += 1;
                        ok -= 1;
                        continue;
                    }
                    reached = Some(room.reached.clone());
                }
                "driver" => room.driver = Some(tx.clone()),
                _ => {}
            }
        }
        state.conns.push(tx);
        tokio::spawn(run_conn(ws, rx, reached, state.stats.clone()));
    }
    json!({ "ok": ok, "failed": total - ok, "errors": errors })
}

async fn probe(state: &State, timeout_ms: u64) -> Value {
    let publisher = state.publisher.as_ref().expect("publisher set");
    let until = now_ms() + timeout_ms as f64;
    for room in &state.rooms {
        room.reached.store(false, Ordering::Relaxed);
    }
    while now_ms() < until {
        let mut pipe = redis::pipe();
        let mut missing = 0;
        for room in state
            .rooms
            .iter()
            .filter(|r| !r.reached.load(Ordering::Relaxed))
        {
            publish(publisher, room, now_ms(), &mut pipe);
            missing += 1;
        }
        flush(publisher, pipe);
        if missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reached = state
        .rooms
        .iter()
        .filter(|r| r.reached.load(Ordering::Relaxed))
        .count();
    json!({ "rooms": state.rooms.len(), "reached": reached })
}

async fn step(state: &State, rate: f64, warm_ms: f64, measure_ms: f64, drain_ms: u64) -> Value {
    let publisher = state.publisher.as_ref().expect("publisher set");
    let stats = &state.stats;
    for bucket in &stats.hist {
        bucket.store(0, Ordering::Relaxed);
    }
    stats.received.store(0, Ordering::Relaxed);
    let per_second = state.rooms.len() as f64 * rate;
    let began = now_ms();
    let (start, end) = (began + warm_ms, began + warm_ms + measure_ms);
    stats.start.store(start.to_bits(), Ordering::Relaxed);
    stats.end.store(end.to_bits(), Ordering::Relaxed);
    let mut published: u64 = 0;
    let mut sent: u64 = 0;
    let mut next = 0;
    let mut lag_max: f64 = 0.0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = began;
    loop {
        ticker.tick().await;
        let now = now_ms();
        if now >= end {
            break;
        }
        lag_max = lag_max.max(now - last);
        last = now;
        let due = (((now - began) * per_second / 1000.0) as u64).saturating_sub(published);
        let mut pipe = redis::pipe();
        for _ in 0..due {
            let at = now_ms();
            publish(publisher, &state.rooms[next], at, &mut pipe);
            next = (next + 1) % state.rooms.len();
            published += 1;
            if at >= start && at < end {
                sent += 1;
            }
        }
        flush(publisher, pipe);
    }
    tokio::time::sleep(Duration::from_millis(drain_ms)).await;
    stats
        .start
        .store(f64::INFINITY.to_bits(), Ordering::Relaxed);
    stats.end.store(f64::INFINITY.to_bits(), Ordering::Relaxed);
    let received = stats.received.load(Ordering::Relaxed);
    stats.hist[OVERFLOW].fetch_add(sent.saturating_sub(received) as u32, Ordering::Relaxed);
    let hist: Vec<[u64; 2]> = stats
        .hist
        .iter()
        .enumerate()
        .filter_map(|(i, count)| {
            let count = count.load(Ordering::Relaxed);
            (count > 0).then_some([i as u64, u64::from(count)])
        })
        .collect();
    json!({ "sent": sent, "received": received, "hist": hist, "tickGapMaxMs": lag_max })
}

async fn close(state: &mut State) -> Value {
    state.conns.clear();
    state.rooms.clear();
    state.by_order.clear();
    state.publisher = None;
    for _ in 0..100 {
        if state.stats.connected.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    json!({})
}

async fn handle(state: &mut State, command: Command) -> Result<Value, String> {
    Ok(match command {
        Command::Open {
            url,
            conns,
            concurrency,
        } => open(state, url, conns, concurrency).await,
        Command::Publisher {
            side,
            redis_url,
            channel,
        } => {
            state.publisher = Some(if side == "peer" {
                Publisher::Peer
            } else {
                // TCP_NODELAY, as ioredis sets it (redis-rs does not by default).
                let info = redis::IntoConnectionInfo::into_connection_info(redis_url.as_str())
                    .map_err(|e| e.to_string())?
                    .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
                let client = redis::Client::open(info).map_err(|e| e.to_string())?;
                let redis = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                Publisher::Ours { redis, channel }
            });
            json!({})
        }
        Command::Count {} => json!({ "connected": state.stats.connected.load(Ordering::Relaxed) }),
        Command::Probe { timeout_ms } => probe(state, timeout_ms).await,
        Command::Step {
            rate,
            warm_ms,
            measure_ms,
            drain_ms,
        } => step(state, rate, warm_ms, measure_ms, drain_ms).await,
        Command::Close {} => close(state).await,
    })
}

fn main() {
    let threads = std::env::var("BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    LazyLock::force(&ORIGIN);
    runtime.block_on(async {
        let mut state = State {
            stats: Arc::new(Stats::new()),
            conns: Vec::new(),
            rooms: Vec::new(),
            by_order: HashMap::new(),
            publisher: None,
        };
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut stdout = tokio::io::stdout();
        while let Ok(Some(line)) = lines.next_line().await {
            let request: Value = match serde_json::from_str(&line) {
                Ok(request) => request,
                Err(err) => {
                    eprintln!("unreadable command: {err}");
                    continue;
                }
            };
            let id = request.get("id").cloned().unwrap_or(Value::Null);
            let mut answer = match serde_json::from_value::<Command>(request) {
                Ok(command) => handle(&mut state, command)
                    .await
                    .unwrap_or_else(|error| json!({ "error": error })),
                Err(err) => json!({ "error": format!("unknown command: {err}") }),
            };
            answer["id"] = id;
            let mut out = answer.to_string();
            out.push('\n');
            if stdout.write_all(out.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
}
