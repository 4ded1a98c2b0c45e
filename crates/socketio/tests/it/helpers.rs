//! A test server on port 0: an Engine.IO echo at `/engine.io/` (what the Engine.IO protocol's
//! own test suite runs against) and a Socket.IO server at `/socket.io/` with the behaviour the
//! Socket.IO protocol's test suite expects (`auth`, `message-back`, acks), plus rooms,
//! broadcasts and server acks for our own tests. Raw clients for both transports.

use actix_web::{App, HttpServer};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use socketio::engine::session::{CloseReason, Connection, Session};
use socketio::engine::{Engine, Opener, Outgoing};
use socketio::{Adapter, Config, Event, Handler, LocalAdapter, NodeId, Refusal, Socket, SocketIo};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The settings of the protocols' own test suites: quick heartbeats.
pub fn quick() -> Config {
    Config {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(1000),
        ..Config::default()
    }
}

/// Like [`quick`], with heartbeats far apart: for tests whose answers a ping would get into.
pub fn steady() -> Config {
    Config {
        ping_interval: Duration::from_secs(10),
        ping_timeout: Duration::from_secs(5),
        ..quick()
    }
}

/// Echoes every Engine.IO message back.
struct Echo;

struct EchoConnection(Arc<Session>);

impl Opener for Echo {
    fn open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        Arc::new(EchoConnection(Arc::clone(session)))
    }
}

impl Connection for EchoConnection {
    fn message(&self, text: &str) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        self.0
            .send(Outgoing::from_text(format!("4{text}"), Vec::new()));
        Ok(None)
    }

    fn binary(&self, data: Bytes) -> Result<Option<BoxFuture<'static, ()>>, CloseReason> {
        self.0.send(Outgoing::binary(data));
        Ok(None)
    }

    fn closed(&self, _reason: CloseReason) {}
}

/// The Socket.IO test handler.
pub struct TestHandler {
    io: OnceLock<SocketIo>,
}

impl Handler for TestHandler {
    fn connect(
        &self,
        socket: Arc<Socket>,
        auth: Option<Value>,
    ) -> BoxFuture<'static, Result<(), Refusal>> {
        Box::pin(async move {
            let auth = auth.unwrap_or_else(|| json!({}));
            if auth["token"] == "refuse" {
                return Err(Refusal::new("Not authorized").with_data(json!({"code": "NOPE"})));
            }
            if auth["token"] == "slow" {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            socket.set_data(auth);
            Ok(())
        })
    }

    fn connected(&self, socket: &Arc<Socket>) {
        let auth = socket.data::<Value>().cloned().unwrap_or_else(|| json!({}));
        if let Some(room) = auth["room"].as_str() {
            socket.join(room);
        }
        socket.emit("auth", &[auth]);
    }

    fn event(&self, socket: Arc<Socket>, event: Event) -> BoxFuture<'static, ()> {
        let io = self.io.get().cloned();
        Box::pin(async move {
            let Event {
                name,
                args,
                attachments,
                ack,
            } = event;
            let first = args.first().cloned().unwrap_or(Value::Null);
            let answer: Vec<Value> = match name.as_str() {
                "message" => {
                    socket.emit_with_attachments("message-back", &args, attachments);
                    vec![]
                }
                "message-with-ack" => {
                    if let Some(ack) = ack {
                        ack.send_with_attachments(&args, attachments);
                    }
                    return;
                }
                "join" => vec![json!(socket.join(first.as_str().unwrap_or_default()))],
                "leave" => vec![json!(socket.leave(first.as_str().unwrap_or_default()))],
                "rooms" => {
                    let mut rooms = socket.rooms();
                    rooms.sort();
                    vec![json!(rooms)]
                }
                // To a room, without the sender.
                "broadcast" => {
                    let room = first.as_str().unwrap_or_default();
                    let sent = socket.to(room).emit("broadcast", &args[1..]);
                    vec![json!(sent)]
                }
                // To a room, the sender included, through the server (every replica).
                "publish" => {
                    let room = first.as_str().unwrap_or_default();
                    let sent = io.map_or(0, |io| io.to(room).emit("broadcast", &args[1..]));
                    vec![json!(sent)]
                }
                // The server asks the client and answers with what the client acked.
                "ask" => match socket
                    .emit_with_ack("question", &args, Duration::from_secs(2))
                    .await
                {
                    Ok(reply) => reply.args,
                    Err(err) => vec![json!({"error": err.to_string()})],
                },
                "close-me" => {
                    socket.close(CloseReason::ServerClose);
                    return;
                }
                "disconnect-me" => {
                    socket.disconnect();
                    return;
                }
                _ => vec![],
            };
            if let Some(ack) = ack {
                ack.send(&answer);
            }
        })
    }
}

pub struct TestServer {
    pub base: String,
    pub io: SocketIo,
    pub echo: Engine,
    pub node: NodeId,
    server: actix_web::dev::ServerHandle,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        Self::start_with(config, NodeId::random(), Arc::new(LocalAdapter), |_, _| {}).await
    }

    /// With `adapter`, and `setup` run on the server before it serves (a cluster, say).
    pub async fn start_with(
        config: Config,
        node: NodeId,
        adapter: Arc<dyn Adapter>,
        setup: impl FnOnce(&SocketIo, u16),
    ) -> Self {
        let io = SocketIo::new(config.clone(), node, adapter);
        let handler = Arc::new(TestHandler {
            io: OnceLock::new(),
        });
        let _ = handler.io.set(io.clone());
        io.namespace("/", handler.clone());
        io.namespace("/custom", handler);
        let echo = Engine::new(config, node);
        echo.set_opener(Arc::new(Echo));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        setup(&io, port);
        let (app_io, app_echo) = (io.clone(), echo.clone());
        let server = HttpServer::new(move || {
            let echo = app_echo.clone();
            App::new()
                .configure(socketio::configure(app_io.clone(), "/socket.io"))
                .route(
                    "/engine.io/",
                    actix_web::web::route().to(
                        move |req: actix_web::HttpRequest, body: actix_web::web::Payload| {
                            let echo = echo.clone();
                            async move { echo.handle(req, body).await }
                        },
                    ),
                )
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base: format!("http://127.0.0.1:{port}"),
            io,
            echo,
            node,
            server: handle,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    pub fn ws_url(&self, path_and_query: &str) -> String {
        self.url(path_and_query).replacen("http", "ws", 1)
    }
}

/// `GET` answering (status, body).
pub async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// `POST` of `body`, answering (status, body).
pub async fn post(url: &str, body: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The session id of a new polling session at `base` + `path` (`/engine.io/`).
pub async fn open_polling(server: &TestServer, path: &str) -> String {
    let (status, body) = get(&server.url(&format!("{path}?EIO=4&transport=polling"))).await;
    assert_eq!(status, 200, "{body}");
    let open: Value = serde_json::from_str(&body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

pub async fn ws(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// The next message, or `None` when the socket closed (or nothing came in 3 s).
pub async fn next(ws: &mut Ws) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(message))) => return Some(message),
        }
    }
}

/// The next text message, pings (`2`) skipped and answered.
pub async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match next(ws).await? {
            Message::Text(text) if text.as_str() == "2" => {
                ws.send(Message::text("3")).await.ok()?;
            }
            Message::Text(text) => return Some(text.as_str().to_owned()),
            Message::Binary(_) => panic!("unexpected binary message"),
            _ => {}
        }
    }
}

/// Whether the server closes `ws` within `within`.
pub async fn closes(ws: &mut Ws, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// A WebSocket session connected to namespace `/` of the Socket.IO server, its `auth`
/// greeting read.
pub async fn socketio_ws(server: &TestServer, auth: &str) -> Ws {
    let mut ws = ws(&server.ws_url("/socket.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    send(&mut ws, &format!("40{auth}")).await;
    let connected = next_text(&mut ws).await.unwrap();
    assert!(connected.starts_with("40{\"sid\""), "{connected}");
    let greeting = next_text(&mut ws).await.unwrap();
    assert!(greeting.starts_with("42[\"auth\""), "{greeting}");
    ws
}
