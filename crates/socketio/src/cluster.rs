//! Replicas behind one address: the requests of a long-polling session must reach the replica
//! that holds it, and in Kubernetes they arrive through a Service that picks any replica.
//!
//! So each session id names its replica ([`crate::Sid`]), each replica announces its own
//! address in Redis (`<prefix>:node:<id>`, refreshed every few seconds, gone a little after
//! it stops, and listed in the set `<prefix>:nodes`), and a replica that receives a request
//! for another's session forwards it there:
//! polling requests as HTTP, the WebSocket of an upgrade as a WebSocket it pipes both ways.
//! A forwarded request carries [`FORWARDED_HEADER`] and is never forwarded again. A session
//! whose replica is gone is unknown, which tells the client to connect anew.

use crate::engine::sid::NodeId;
use crate::engine::{FORWARDED_HEADER, Forward};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use actix_ws::AggregatedMessage;
use domain::Problem;
use futures_util::future::LocalBoxFuture;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

/// How often a replica renews its address, and how long the record outlives a missed renewal.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);
const ANNOUNCEMENT_LASTS: Duration = Duration::from_secs(20);
/// How often, at most, the replicas' addresses are read again from Redis when a request names a
/// replica not known here: a flood of made-up session ids costs Redis one read a second.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// How long Redis may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Headers passed on with a forwarded request.
const PASSED_HEADERS: [&str; 5] = [
    "content-type",
    "x-forwarded-for",
    "x-request-id",
    "traceparent",
    "user-agent",
];

/// This replica's place among the others.
pub struct Cluster {
    node: NodeId,
    /// Where the others reach this replica: `http://10.1.2.3:8088`.
    address: String,
    prefix: String,
    /// The Engine.IO path, as requests are forwarded to it.
    path: String,
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// The replicas' addresses as last read, and when.
    addresses: Mutex<(HashMap<NodeId, String>, Option<Instant>)>,
    http: reqwest::Client,
    max_payload: usize,
}

impl Cluster {
    /// `node` reachable at `address` (`http://host:port`), announced in the Redis at `url`.
    /// Forwarded long polls may wait `poll_wait` before the owner answers.
    pub fn new(
        url: &str,
        prefix: &str,
        node: NodeId,
        address: &str,
        path: &str,
        max_payload: u64,
        poll_wait: Duration,
    ) -> Result<Arc<Self>, String> {
        let client = redis::Client::open(url).map_err(|err| err.to_string())?;
        let http = reqwest::Client::builder()
            .timeout(poll_wait + Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Arc::new(Self {
            node,
            address: address.trim_end_matches('/').to_owned(),
            prefix: prefix.to_owned(),
            path: path.to_owned(),
            client,
            connection: tokio::sync::Mutex::new(None),
            addresses: Mutex::default(),
            http,
            max_payload: usize::try_from(max_payload).unwrap_or(usize::MAX),
        }))
    }

    fn key(&self, node: NodeId) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    fn nodes_key(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    async fn redis(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let opened = tokio::time::timeout(
            ANSWER_WITHIN,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| "no answer".to_owned())?
        .map_err(|err| err.to_string())?;
        *slot = Some(opened.clone());
        Ok(opened)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let mut connection = self.redis().await?;
        let failed =
            match tokio::time::timeout(ANSWER_WITHIN, cmd.query_async(&mut connection)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no answer".to_owned(),
            };
        *self.connection.lock().await = None;
        Err(failed)
    }

    /// Announces this replica until `shutdown`, then withdraws it.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(ANNOUNCE_EVERY);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    let mut announce = redis::cmd("SET");
                    announce
                        .arg(self.key(self.node))
                        .arg(&self.address)
                        .arg("EX")
                        .arg(ANNOUNCEMENT_LASTS.as_secs());
                    let mut list = redis::cmd("SADD");
                    list.arg(self.nodes_key()).arg(self.node.as_str());
                    if let Err(err) = self.query::<()>(&announce).await {
                        tracing::warn!(%err, "cannot announce this replica in Redis");
                    } else if let Err(err) = self.query::<()>(&list).await {
                        tracing::warn!(%err, "cannot list this replica in Redis");
                    }
                }
                () = shutdown.cancelled() => break,
            }
        }
        let mut withdraw = redis::cmd("DEL");
        withdraw.arg(self.key(self.node));
        let _ = self.query::<()>(&withdraw).await;
        let mut unlist = redis::cmd("SREM");
        unlist.arg(self.nodes_key()).arg(self.node.as_str());
        let _ = self.query::<()>(&unlist).await;
    }

    /// Reads every announced replica's address; forgets replicas whose announcement lapsed.
    async fn refresh(&self) -> Result<HashMap<NodeId, String>, String> {
        let mut members = redis::cmd("SMEMBERS");
        members.arg(self.nodes_key());
        let nodes: Vec<String> = self.query(&members).await?;
        let nodes: Vec<NodeId> = nodes.iter().filter_map(|node| node.parse().ok()).collect();
        if nodes.is_empty() {
            return Ok(HashMap::new());
        }
        let mut get = redis::cmd("MGET");
        for node in &nodes {
            get.arg(self.key(*node));
        }
        let addresses: Vec<Option<String>> = self.query(&get).await?;
        let mut known = HashMap::new();
        let mut lapsed = redis::cmd("SREM");
        lapsed.arg(self.nodes_key());
        let mut any_lapsed = false;
        for (node, address) in nodes.into_iter().zip(addresses) {
            match address {
                Some(address) => {
                    known.insert(node, address);
                }
                None => {
                    lapsed.arg(node.as_str());
                    any_lapsed = true;
                }
            }
        }
        if any_lapsed {
            let _ = self.query::<()>(&lapsed).await;
        }
        Ok(known)
    }

    /// The address of `node`, if it is announced.
    async fn address_of(&self, node: NodeId) -> Option<String> {
        let stale = {
            let addresses = self
                .addresses
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(address) = addresses.0.get(&node) {
                return Some(address.clone());
            }
            addresses
                .1
                .is_none_or(|at| at.elapsed() >= REFRESH_AT_MOST_EVERY)
        };
        if !stale {
            return None;
        }
        let known = match self.refresh().await {
            Ok(known) => known,
            Err(err) => {
                tracing::warn!(%err, "cannot read the replicas' addresses");
                return None;
            }
        };
        let address = known.get(&node).cloned();
        *self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (known, Some(Instant::now()));
        address
    }

    fn unknown() -> HttpResponse {
        Problem::bad_request("Session ID unknown.").error_response()
    }

    async fn forward_http(
        self: Arc<Self>,
        address: String,
        req: HttpRequest,
        mut body: web::Payload,
    ) -> HttpResponse {
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                return Problem::bad_request("The request body could not be read.")
                    .error_response();
            };
            if bytes.len() + chunk.len() > self.max_payload {
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let url = format!("{address}{}?{}", self.path, req.query_string());
        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut request = self
            .http
            .request(method, url)
            .header(FORWARDED_HEADER, self.node.as_str())
            .body(bytes.freeze());
        for name in PASSED_HEADERS {
            if let Some(value) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
                request = request.header(name, value);
            }
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::warn!(%err, "forwarding a polling request failed");
                metrics::counter!("socketio_forwarded_total", "transport" => "polling", "outcome" => "failed").increment(1);
                return Self::unknown();
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = answer
            .headers()
            .get(CONTENT_TYPE.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Ok(body) = answer.bytes().await else {
            return Self::unknown();
        };
        metrics::counter!("socketio_forwarded_total", "transport" => "polling", "outcome" => "forwarded").increment(1);
        metrics::histogram!("socketio_forward_seconds").record(started.elapsed().as_secs_f64());
        let mut response = HttpResponse::build(status);
        if let Some(content_type) = content_type {
            response.insert_header((CONTENT_TYPE, content_type));
        }
        response.body(body)
    }

    fn forward_websocket(
        &self,
        address: &str,
        req: &HttpRequest,
        body: web::Payload,
    ) -> HttpResponse {
        let url = format!(
            "{}{}?{}",
            address.replacen("http", "ws", 1),
            self.path,
            req.query_string()
        );
        let Ok(mut upstream_request) = url.into_client_request() else {
            return Self::unknown();
        };
        let headers = upstream_request.headers_mut();
        if let Ok(node) = self.node.as_str().parse() {
            headers.insert(FORWARDED_HEADER, node);
        }
        for name in PASSED_HEADERS {
            if let Some(value) = req.headers().get(name).and_then(|v| v.to_str().ok())
                && let Ok(value) = value.parse()
            {
                headers.insert(name, value);
            }
        }
        let Ok((response, mut socket, stream)) = actix_ws::handle(req, body) else {
            return Problem::bad_request("Not a valid WebSocket handshake.").error_response();
        };
        let mut stream = stream
            .max_frame_size(self.max_payload)
            .aggregate_continuations()
            .max_continuation_size(self.max_payload);
        actix_web::rt::spawn(async move {
            let Ok((upstream, _)) = tokio_tungstenite::connect_async(upstream_request).await else {
                metrics::counter!("socketio_forwarded_total", "transport" => "websocket", "outcome" => "failed").increment(1);
                let _ = socket.close(None).await;
                return;
            };
            metrics::counter!("socketio_forwarded_total", "transport" => "websocket", "outcome" => "forwarded").increment(1);
            let (mut up_tx, mut up_rx) = upstream.split();
            loop {
                tokio::select! {
                    from_client = stream.recv() => {
                        let sent = match from_client {
                            Some(Ok(AggregatedMessage::Text(text))) => up_tx.send(Message::Text(text.to_string().into())).await,
                            Some(Ok(AggregatedMessage::Binary(data))) => up_tx.send(Message::Binary(data)).await,
                            Some(Ok(AggregatedMessage::Ping(data))) => {
                                if socket.pong(&data).await.is_err() { break; }
                                Ok(())
                            }
                            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
                            _ => break,
                        };
                        if sent.is_err() {
                            break;
                        }
                    }
                    from_owner = up_rx.next() => {
                        let sent = match from_owner {
                            Some(Ok(Message::Text(text))) => socket.text(text.as_str().to_owned()).await,
                            Some(Ok(Message::Binary(data))) => socket.binary(data).await,
                            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(()),
                            _ => break,
                        };
                        if sent.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = up_tx.close().await;
            let _ = socket.close(None).await;
        });
        response
    }
}

impl Forward for Cluster {
    fn forward(
        self: Arc<Self>,
        node: NodeId,
        req: HttpRequest,
        body: web::Payload,
    ) -> LocalBoxFuture<'static, HttpResponse> {
        let this = self;
        Box::pin(async move {
            let Some(address) = this.address_of(node).await else {
                metrics::counter!("socketio_forwarded_total", "transport" => "any", "outcome" => "unknown_node").increment(1);
                return Self::unknown();
            };
            let upgrade = req
                .headers()
                .get(actix_web::http::header::UPGRADE)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
            if upgrade {
                this.forward_websocket(&address, &req, body)
            } else {
                this.forward_http(address, req, body).await
            }
        })
    }
}
