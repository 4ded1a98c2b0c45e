//! `TestApp`: the realtime service on port 0 with its own exchange, Redis prefix and emit
//! channel, tokens it trusts, and a Socket.IO client over WebSocket.

use domain::Role;
use futures_util::{SinkExt, StreamExt};
use platform::{CommonConfig, Shutdown};
use realtime::config::{DEFAULT_PORT, RealtimeConfig, SERVICE};
use realtime::startup::Application;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use testkit::{TestBroker, TestClient, TestTokens};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct TestApp {
    pub base: String,
    pub broker: Arc<TestBroker>,
    pub tokens: Arc<TestTokens>,
    /// The Redis prefix and emit channel of this test (shared by a test's replicas).
    pub prefix: String,
    pub emit_channel: String,
    pub shutdown: Shutdown,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A fresh name for a test's Redis prefix.
pub fn unique(what: &str) -> String {
    format!("test-{what}-{}", uuid::Uuid::new_v4().simple())
}

/// What two replicas of one test share.
pub struct Shared {
    pub broker: Arc<TestBroker>,
    pub tokens: Arc<TestTokens>,
    pub prefix: String,
    pub emit_channel: String,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            broker: Arc::new(TestBroker::new()),
            tokens: Arc::new(TestTokens::new()),
            prefix: unique("realtime"),
            emit_channel: unique("emit"),
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With `settings` added to (or replacing) the environment.
    pub async fn spawn_with(settings: &[(&str, &str)]) -> Self {
        let shared = Shared::new();
        Self::replica(shared, settings).await
    }

    /// A replica of the service on `shared`'s exchange, Redis prefix and tokens, once its
    /// consumer is on the queue and `/health` says it is ready.
    pub async fn replica(shared: Shared, settings: &[(&str, &str)]) -> Self {
        let app = Self::start(shared, settings).await;
        let queue = events::queue_name(&app.broker.exchange, realtime::events::EVENTS_QUEUE);
        testkit::wait_for_consumer(&app.broker.url, &queue).await;
        app.wait_ready().await;
        app
    }

    /// The service started, without waiting for it to be ready (`/health` tests).
    pub async fn start(shared: Shared, settings: &[(&str, &str)]) -> Self {
        let Shared {
            broker,
            tokens,
            prefix,
            emit_channel,
        } = shared;
        let listener = realtime::startup::bind("127.0.0.1", 0).unwrap();
        let queue = events::queue_name(&broker.exchange, realtime::events::EVENTS_QUEUE);
        broker.track(&queue);
        let vars: Vec<(String, String)> = vec![
            ("REDIS_URL".into(), testkit::redis_url()),
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("EVENTS_EXCHANGE".into(), broker.exchange.clone()),
            ("APP_ENV".into(), "test".into()),
            ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
            ("REALTIME_REDIS_PREFIX".into(), prefix.clone()),
            ("REALTIME_EMIT_CHANNEL".into(), emit_channel.clone()),
            ("REALTIME_DRAIN_SECS".into(), "1".into()),
            ("REALTIME_PROXY_TIMEOUT_MS".into(), "1000".into()),
        ];
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| settings.iter().all(|(set, _)| set != name))
            .chain(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: RealtimeConfig = platform::config::load_from(vars).unwrap();
        let shutdown = Shutdown::new();
        let application = Application::build_with_verifier(
            common,
            config,
            listener,
            shutdown.clone(),
            tokens.verifier(),
        )
        .await
        .unwrap();
        let base = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        Self {
            base,
            broker,
            tokens,
            prefix,
            emit_channel,
            shutdown,
        }
    }

    /// A second replica on this one's exchange, Redis prefix and tokens.
    pub async fn another(&self, settings: &[(&str, &str)]) -> Self {
        let shared = Shared {
            broker: Arc::clone(&self.broker),
            tokens: Arc::clone(&self.tokens),
            prefix: self.prefix.clone(),
            emit_channel: self.emit_channel.clone(),
        };
        Self::replica(shared, settings).await
    }

    /// Until `/health` says the adapter and the consumer are up.
    async fn wait_ready(&self) {
        let client = self.http();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let health = client.get("/health").await;
            if health.status == 200 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "realtime not ready: {}",
                health.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn http(&self) -> TestClient {
        TestClient::new(&self.base)
    }

    pub fn ws_url(&self) -> String {
        format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            self.base.replacen("http", "ws", 1)
        )
    }

    /// A token of a new user of `role`: (user id, token).
    pub fn token(&self, role: Role) -> (String, String) {
        let (user, token) = self.tokens.token(role);
        (user.to_string(), token)
    }

    /// A client connected with `token`.
    pub async fn connect(&self, token: &str) -> Client {
        Client::connect(&self.ws_url(), json!({ "token": token }))
            .await
            .unwrap_or_else(|refused| panic!("refused: {refused}"))
    }

    /// Publishes `event` as its producer would; returns its id.
    pub async fn publish<E: events::Event>(&self, event: &E) -> uuid::Uuid {
        testkit::publish_event(
            &self.broker.url,
            &self.broker.exchange,
            E::NAME,
            E::TYPE,
            event,
            None,
        )
        .await
    }

    /// Publishes `message` on the emit channel, as a service would.
    pub async fn publish_ephemeral(&self, message: &Value) {
        let client = redis::Client::open(testkit::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&self.emit_channel)
            .arg(message.to_string())
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http().get("/metrics").await.text
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A Socket.IO client over WebSocket, enough for tests: connect with an auth payload, emit with
/// acks, read events.
pub struct Client {
    ws: Ws,
    next_ack: u64,
    events: VecDeque<(String, Vec<Value>)>,
}

impl Client {
    /// Connects to namespace `/` with `auth`; `Err` with the CONNECT_ERROR payload if refused.
    pub async fn connect(url: &str, auth: Value) -> Result<Self, Value> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self {
            ws,
            next_ack: 1,
            events: VecDeque::new(),
        };
        let open = client.text().await.expect("the open packet");
        assert!(open.starts_with('0'), "{open}");
        client.send(&format!("40{auth}")).await;
        let answer = client.text().await.expect("the CONNECT answer");
        if let Some(refused) = answer.strip_prefix("44") {
            return Err(serde_json::from_str(refused).unwrap());
        }
        assert!(answer.starts_with("40{"), "{answer}");
        Ok(client)
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next text frame (pings answered), `None` when the connection ends or 5 s pass.
    async fn text(&mut self) -> Option<String> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .ok()??;
            match message.ok()? {
                Message::Text(text) if text.as_str() == "2" => self.send("3").await,
                Message::Text(text) => return Some(text.as_str().to_owned()),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Emits `event` with `data` without asking for an ack.
    pub async fn emit(&mut self, event: &str, data: Value) {
        self.send(&format!("42{}", json!([event, data]))).await;
    }

    /// Emits `event` with `data` and answers the ack's first argument.
    pub async fn ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(&format!("42{id}{}", json!([event, data]))).await;
        let prefix = format!("43{id}");
        loop {
            let text = self.text().await.expect("an ack");
            if let Some(args) = text.strip_prefix(&prefix) {
                let mut args: Vec<Value> = serde_json::from_str(args).unwrap();
                return args.remove(0);
            }
            self.keep(&text);
        }
    }

    fn keep(&mut self, text: &str) {
        if let Some(payload) = text.strip_prefix("42") {
            let mut items: Vec<Value> = serde_json::from_str(payload).unwrap();
            let name = items.remove(0).as_str().unwrap().to_owned();
            self.events.push_back((name, items));
        }
    }

    /// The next event (`name`, args), `None` if none comes in 5 s.
    pub async fn event(&mut self) -> Option<(String, Vec<Value>)> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        loop {
            let text = self.text().await?;
            self.keep(&text);
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
        }
    }

    /// Whether an event comes within `within`.
    pub async fn quiet_for(&mut self, within: Duration) -> bool {
        if !self.events.is_empty() {
            return false;
        }
        tokio::time::timeout(within, self.event()).await.is_err()
    }

    /// Whether the server closes the connection within `within`.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                        let _ = self.ws.send(Message::text("3")).await;
                    }
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .is_ok()
    }
}

/// Whether `metrics` has a series of `name` with `label` counting at least 1.
pub fn counted(metrics: &str, name: &str, label: &str) -> bool {
    metrics.lines().any(|line| {
        line.starts_with(&format!("{name}{{"))
            && line.contains(label)
            && line
                .rsplit(' ')
                .next()
                .and_then(|value| value.parse::<f64>().ok())
                .is_some_and(|value| value >= 1.0)
    })
}

/// A wiremock standing in for a service inbound events are proxied to.
pub async fn upstream() -> wiremock::MockServer {
    wiremock::MockServer::start().await
}
