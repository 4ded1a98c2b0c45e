//! A stub upstream (echo, slow, flaky, JWKS, OpenAPI), a stand-in for realtime (long polls and
//! WebSocket upgrades on `/socket.io/`), and the gateway binary itself, started as a separate
//! process (it runs Pingora's own runtime) on a free port with a routes file written for the
//! test.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;
use testkit::TestTokens;

/// What a stub upstream does, shared with the test.
#[derive(Default)]
pub struct StubState {
    /// Status `/flaky` answers (200 when 0).
    pub flaky_status: AtomicU16,
    pub hits: AtomicU64,
}

pub struct Stub {
    pub port: u16,
    pub state: Arc<StubState>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Stub {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

impl Stub {
    /// `name` is echoed back so a test can tell endpoints apart.
    pub async fn spawn(name: &str, tokens: &TestTokens) -> Self {
        Self::spawn_with_keep_alive(name, tokens, None).await
    }

    /// A stub that closes idle connections after `keep_alive` (actix's default, 5 s, if none).
    pub async fn spawn_with_keep_alive(
        name: &str,
        tokens: &TestTokens,
        keep_alive: Option<Duration>,
    ) -> Self {
        let state = Arc::new(StubState::default());
        let jwks = serde_json::to_value(auth_token::jwk_set([&tokens.signer])).unwrap();
        let name = name.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let app_state = Arc::clone(&state);
        let server = HttpServer::new(move || {
            let name = name.clone();
            let jwks = jwks.clone();
            App::new()
                .app_data(web::Data::from(Arc::clone(&app_state)))
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route(
                    "/health/live",
                    web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "alive"})) }),
                )
                .route(
                    "/.well-known/jwks.json",
                    web::get().to(move || {
                        let jwks = jwks.clone();
                        async move { HttpResponse::Ok().json(jwks) }
                    }),
                )
                .route(
                    "/openapi.json",
                    web::get().to(|| async { HttpResponse::Ok().json(stub_spec()) }),
                )
                .route(
                    "/slow",
                    web::get().to(|| async {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        HttpResponse::Ok().finish()
                    }),
                )
                .route(
                    "/linger",
                    web::get().to(|| async {
                        tokio::time::sleep(Duration::from_millis(700)).await;
                        HttpResponse::Ok().body("lingered")
                    }),
                )
                .route("/public/big/{bytes}", web::get().to(big))
                .default_service(web::to(
                    move |req: HttpRequest, body: web::Bytes, state: web::Data<StubState>| {
                        let name = name.clone();
                        async move {
                            state.hits.fetch_add(1, Ordering::SeqCst);
                            let status = state.flaky_status.load(Ordering::SeqCst);
                            if req.path().starts_with("/flaky") && status != 0 {
                                return HttpResponse::build(
                                    actix_web::http::StatusCode::from_u16(status).unwrap(),
                                )
                                .json(json!({"server": name}));
                            }
                            let headers: serde_json::Map<String, Value> = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default()))
                                })
                                .collect();
                            HttpResponse::Ok().json(json!({
                                "server": name,
                                "method": req.method().as_str(),
                                "path": req.path(),
                                // The path as actix routes on it (decoded).
                                "routedPath": req.match_info().as_str(),
                                "query": req.query_string(),
                                "headers": headers,
                                "bodyLength": body.len(),
                                // The gateway's end of the connection: which one it used.
                                "peer": req.peer_addr().map(|addr| addr.port()),
                            }))
                        }
                    },
                ))
        })
        .workers(1)
        .disable_signals();
        let server = match keep_alive {
            Some(keep_alive) => server.keep_alive(keep_alive),
            None => server,
        };
        let server = server.listen(listener).unwrap().run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            state,
            handle,
        }
    }
}

/// `/public/big/{bytes}`: that many bytes of `big_body`, with a length, or chunked (in 64 KiB
/// pieces) with `?chunked`.
async fn big(bytes: web::Path<usize>, req: HttpRequest) -> HttpResponse {
    let body = big_body(bytes.into_inner());
    if req.query_string() != "chunked" {
        return HttpResponse::Ok().body(body);
    }
    let pieces: Vec<Result<web::Bytes, std::io::Error>> = body
        .chunks(64 * 1024)
        .map(|piece| Ok(web::Bytes::copy_from_slice(piece)))
        .collect();
    HttpResponse::Ok().streaming(futures_util::stream::iter(pieces))
}

/// `bytes` bytes that differ with their position, so a piece lost or repeated shows.
pub fn big_body(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i % 251) as u8).collect()
}

fn stub_spec() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "stub", "version": "1" },
        "paths": { "/api/products/stub-things": { "get": {
            "operationId": "list_things",
            "summary": "List the stub's things",
            "responses": { "200": { "description": "ok" } }
        } } }
    })
}

/// A stand-in for realtime behind `/socket.io/`, speaking plain HTTP/1.1 like it: a request
/// that does not upgrade (a long poll, its POST) is answered 200 with what arrived (method,
/// path, query, headers, body) as JSON; a WebSocket upgrade is accepted, its first message is
/// what arrived, and then every text and binary message is echoed.
pub async fn realtime_standin() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(standin_answer),
                    )
                    .with_upgrades()
                    .await;
            });
        }
    });
    port
}

async fn standin_answer(
    mut request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt as _;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let headers: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let mut seen = json!({
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query().unwrap_or_default(),
        "headers": headers,
    });
    let upgrade = request
        .headers()
        .get(http::header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let key = request.headers().get("sec-websocket-key").cloned();
    if let (true, Some(key)) = (upgrade, key) {
        let upgraded = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgraded.await else {
                return;
            };
            let mut socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
                hyper_util::rt::TokioIo::new(upgraded),
                Role::Server,
                None,
            )
            .await;
            if socket.send(Message::text(seen.to_string())).await.is_err() {
                return;
            }
            while let Some(Ok(message)) = socket.next().await {
                if message.is_text() || message.is_binary() {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                } else if message.is_close() {
                    break;
                }
            }
        });
        let response = http::Response::builder()
            .status(101)
            .header(http::header::CONNECTION, "upgrade")
            .header(http::header::UPGRADE, "websocket")
            .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
            .body(http_body_util::Full::default())
            .unwrap();
        return Ok(response);
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    seen["body"] = json!(String::from_utf8_lossy(&body));
    Ok(http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            seen.to_string(),
        )))
        .unwrap())
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The gateway process.
pub struct Gateway {
    pub base: String,
    /// The operations port's base URL (metrics, the detailed health report).
    pub ops: String,
    pub client: reqwest::Client,
    child: Child,
    routes_file: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.routes_file);
    }
}

/// Settings every test gateway shares; `prefix` isolates its Redis counters.
pub struct GatewayEnv {
    pub routes: String,
    pub jwks_url: String,
    pub redis_prefix: String,
    pub extra: Vec<(String, String)>,
}

impl GatewayEnv {
    pub fn new(routes: String, jwks_port: u16) -> Self {
        Self {
            routes,
            jwks_url: format!("http://127.0.0.1:{jwks_port}/.well-known/jwks.json"),
            redis_prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }
}

impl Gateway {
    pub async fn spawn(env: &GatewayEnv) -> Self {
        let routes_file =
            std::env::temp_dir().join(format!("fs-gateway-{}.yaml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&routes_file, &env.routes).unwrap();
        let port = free_port();
        let ops_port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("GATEWAY_OPS_PORT", ops_port.to_string())
            .env("APP_ENV", "test")
            .env("RUST_LOG", "warn")
            .env("REDIS_URL", testkit::redis_url())
            .env("GATEWAY_ROUTES_FILE", &routes_file)
            .env("GATEWAY_REDIS_PREFIX", &env.redis_prefix)
            .env("GATEWAY_THREADS", "2")
            .env("GATEWAY_OPENAPI_CACHE_SECS", "0")
            .env("SHUTDOWN_TIMEOUT_SECS", "1")
            .env("JWKS_URL", &env.jwks_url)
            .env("JWT_ISSUER", testkit::ISSUER)
            .env("JWT_AUDIENCE", testkit::AUDIENCE)
            .envs(env.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        let child = command.spawn().unwrap();
        let gateway = Self {
            base: format!("http://127.0.0.1:{port}"),
            ops: format!("http://127.0.0.1:{ops_port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            child,
            routes_file,
        };
        let client = gateway.client.clone();
        let live = gateway.url("/health/live");
        testkit::wait_for("the gateway to listen", Duration::from_secs(20), || {
            let client = client.clone();
            let live = live.clone();
            async move {
                client
                    .get(&live)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
        gateway
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends the process a signal (`TERM`, `QUIT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the process to exit, and how it did.
    pub async fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the gateway did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A GET on the operations port.
    pub fn ops_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.ops))
    }

    /// The operations port's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self.ops_get("/metrics").send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The operations port's detailed health report.
    pub async fn health(&self) -> Value {
        let response = self.ops_get("/health").send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Waits until the gateway's health report shows its revocation notices as `status`
    /// (`subscribed`/`unsubscribed`).
    pub async fn wait_revocation_notices(&self, status: &str) {
        self.wait_health(&format!("revocation notices to be {status}"), |health| {
            health["revocationNotices"] == status
        })
        .await;
    }

    /// Waits until the gateway's health report shows `cluster` as `status` (`up`/`down`).
    pub async fn wait_cluster(&self, cluster: &str, status: &str) {
        self.wait_health(&format!("cluster {cluster} to be {status}"), |health| {
            health["clusters"][cluster]["status"] == status
        })
        .await;
    }

    /// Waits until the gateway's health report (on the operations port) satisfies `done`.
    async fn wait_health(&self, what: &str, done: impl Fn(&Value) -> bool) {
        let url = format!("{}/health", self.ops);
        let done = &done;
        testkit::wait_for(what, Duration::from_secs(15), || {
            let client = self.client.clone();
            let url = url.clone();
            async move {
                let Ok(response) = client.get(&url).send().await else {
                    return false;
                };
                let body: Value = response.json().await.unwrap_or_default();
                done(&body)
            }
        })
        .await;
    }
}

/// An answer read whole.
pub struct RawAnswer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl RawAnswer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem body, checked to be problem+json with `status`.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.headers["content-type"], "application/problem+json");
        let body = self.json();
        assert_eq!(body["status"], status);
        body
    }
}

/// Sends `method target` to `base` over a connection of its own, with the request target
/// exactly as given (a URL library removes dot segments and re-encodes before sending), and
/// reads the whole answer.
pub async fn send_raw(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawAnswer {
    use http_body_util::BodyExt as _;
    let address = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(target)
        .header(http::header::HOST, "127.0.0.1");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(body.to_owned()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    RawAnswer {
        status,
        headers,
        body,
    }
}

/// Settings for a gateway with the shipped routes file (`deploy/gateway/routes.yaml`), every
/// cluster on `stub`.
pub fn shipped_around(stub: &Stub) -> GatewayEnv {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    );
    let table = gateway::route_table::RouteTable::load(path, std::iter::empty()).unwrap();
    let mut env = GatewayEnv::new(std::fs::read_to_string(path).unwrap(), stub.port);
    for cluster in &table.clusters {
        env = env.with(
            &format!("GATEWAY_CLUSTER_{}", cluster.name.to_ascii_uppercase()),
            &format!("127.0.0.1:{}", stub.port),
        );
    }
    env
}

/// A Redis server of one test's own, on a free port, for tests that disturb it.
pub struct PrivateRedis {
    pub url: String,
    child: Child,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("redis-server (installed by scripts/ensure-stack.sh) starts");
        let url = format!("redis://127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str()).unwrap();
        testkit::wait_for("the private Redis", Duration::from_secs(10), || {
            let client = client.clone();
            async move {
                let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                    return false;
                };
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            }
        })
        .await;
        Self { url, child }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The response's problem body, checked to be problem+json with `status`.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "content type of a {status}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

/// A routes file around the stub on `stub` and the realtime stand-in on `realtime`.
pub fn routes(stub: u16, realtime: u16) -> String {
    format!(
        r#"
defaults:
  auth: optional
  rate_limits: [api]
  timeout_secs: 10
rate_limits:
  auth: {{ requests: 5, window_secs: 900, per: ip }}
  api: {{ requests: 1000, window_secs: 900, per: user_or_ip, counting: batched }}
  tight: {{ requests: 3, window_secs: 900, per: user_or_ip, roles: {{ admin: 6 }} }}
  burst: {{ requests: 20, window_secs: 900, per: user_or_ip }}
  shared: {{ requests: 10, window_secs: 900, per: user_or_ip, counting: batched, roles: {{ driver: 15 }} }}
  realtime: {{ requests: 1200, window_secs: 60, per: ip, counting: batched }}
clusters:
  stub:
    endpoints: ["127.0.0.1:{stub}"]
    health_check: /health/live
    health_interval_secs: 1
    openapi: /openapi.json
  down:
    endpoints: ["127.0.0.1:{down}"]
    health_interval_secs: 60
  realtime:
    endpoints: ["127.0.0.1:{realtime}"]
    health_interval_secs: 1
routes:
  - path: /api/auth/login
    methods: [POST]
    cluster: stub
    auth: none
    rate_limits: [auth, api]
  - prefix: /api/auth
    cluster: stub
    auth: none
  - prefix: /public
    cluster: stub
    auth: none
  - prefix: /optional
    cluster: stub
  - prefix: /private
    cluster: stub
    auth: required
  - prefix: /admin
    cluster: stub
    auth: required
    roles: [admin]
  - prefix: /tight
    cluster: stub
    rate_limits: [tight]
  - prefix: /burst
    cluster: stub
    rate_limits: [burst]
  - prefix: /shared
    cluster: stub
    rate_limits: [shared]
  - path: /slow
    cluster: stub
    timeout_secs: 1
    retries: 0
  - path: /linger
    cluster: stub
  - prefix: /small
    cluster: stub
    max_body_bytes: 1024
  - prefix: /flaky
    cluster: stub
    retries: 0
  - path: /only-post
    methods: [POST]
    cluster: stub
  - prefix: /down
    cluster: down
  - prefix: /socket.io
    cluster: realtime
    auth: none
    websocket: true
    timeout_secs: 60
    rate_limits: [realtime]
  # A WebSocket route that needs a token (none is shipped): the token may come in the query.
  - prefix: /tunnel
    cluster: realtime
    auth: required
    websocket: true
    timeout_secs: 0
"#,
        down = free_port(),
    )
}

/// A stub, a realtime stand-in and a gateway in front of both.
pub struct Setup {
    pub tokens: TestTokens,
    pub stub: Stub,
    pub gateway: Gateway,
    pub env: GatewayEnv,
}

impl Setup {
    pub async fn new() -> Self {
        Self::with(|env| env).await
    }

    pub async fn with(configure: impl FnOnce(GatewayEnv) -> GatewayEnv) -> Self {
        let tokens = TestTokens::new();
        let stub = Stub::spawn("a", &tokens).await;
        Self::around(tokens, stub, configure).await
    }

    /// The gateway in front of `stub` (spawned with `tokens`' keys).
    pub async fn around(
        tokens: TestTokens,
        stub: Stub,
        configure: impl FnOnce(GatewayEnv) -> GatewayEnv,
    ) -> Self {
        let realtime = realtime_standin().await;
        let env = configure(GatewayEnv::new(routes(stub.port, realtime), stub.port));
        let gateway = Gateway::spawn(&env).await;
        gateway.wait_cluster("stub", "up").await;
        Self {
            tokens,
            stub,
            gateway,
            env,
        }
    }
}
