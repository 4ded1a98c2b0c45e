//! The gateway's connections to the services: kept and reused (after large bodies too),
//! replaced when the service closed them, and closed by the gateway when idle too long.

use crate::helpers::{Setup, Stub, big_body};
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::time::Duration;
use testkit::TestTokens;

/// One client connection to the gateway. A pooled client may open a second one while the first
/// is settling after an answer, and the gateway serves a new connection on its other worker,
/// whose upstream connections are its own: these tests must know which client connection each
/// request went over.
struct ClientConnection {
    sender: SendRequest<String>,
}

impl ClientConnection {
    async fn open(setup: &Setup) -> Self {
        let address = setup.gateway.base.trim_start_matches("http://");
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    /// Sends a request and reads its answer to the end.
    async fn send(&mut self, method: Method, path: &str, body: String) -> (StatusCode, Bytes) {
        self.sender.ready().await.unwrap();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1")
            .body(body)
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }

    /// The gateway's end (its local port) of the upstream connection a request went over.
    async fn echo_peer(&mut self, method: Method) -> u16 {
        let (status, body) = self.send(method, "/public/echo", String::new()).await;
        assert_eq!(status, 200);
        let body: Value = serde_json::from_slice(&body).unwrap();
        u16::try_from(body["peer"].as_u64().unwrap()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_client_connections_requests_share_one_upstream_connection() {
    let setup = Setup::new().await;
    let mut client = ClientConnection::open(&setup).await;
    let first = client.echo_peer(Method::GET).await;
    for _ in 0..10 {
        assert_eq!(client.echo_peer(Method::GET).await, first);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_bodies_cross_both_ways_and_their_connection_is_reused_after() {
    let setup = Setup::new().await;
    let mut client = ClientConnection::open(&setup).await;
    let before = client.echo_peer(Method::GET).await;

    // Many reads each, with a length and chunked.
    for query in ["", "?chunked"] {
        let path = format!("/public/big/3000000{query}");
        let (status, body) = client.send(Method::GET, &path, String::new()).await;
        assert_eq!(status, 200);
        assert!(
            body == big_body(3_000_000),
            "the {query:?} body arrived changed"
        );
    }
    let upload = "u".repeat(1024 * 1024);
    let (status, body) = client.send(Method::POST, "/public/echo", upload).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["bodyLength"], 1024 * 1024);

    // Read to their ends, the answers left the connection ready for the next request.
    assert_eq!(client.echo_peer(Method::GET).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_connection_the_service_closed_is_replaced_even_for_a_post() {
    let tokens = TestTokens::new();
    let closing = Stub::spawn_with_keep_alive("a", &tokens, Some(Duration::from_secs(1))).await;
    let setup = Setup::around(tokens, closing, |env| env).await;
    let mut client = ClientConnection::open(&setup).await;

    let first = client.echo_peer(Method::GET).await;
    // Pooled, and taken again by a request that comes at once: well inside the service's 1 s
    // keep-alive, so a stalled test machine does not see the service close it under the request.
    assert_eq!(client.echo_peer(Method::GET).await, first);
    // The service closes the idle connection (after 1 s) long before the gateway's pool would (4 s).
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Not idempotent, so not retried: it must not be sent on the closed connection at all.
    let second = client.echo_peer(Method::POST).await;
    assert_ne!(second, first);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_by_the_gateway_after_the_pools_timeout() {
    let setup = Setup::with(|env| env.with("GATEWAY_UPSTREAM_IDLE_MS", "1000")).await;
    let mut client = ClientConnection::open(&setup).await;
    let first = client.echo_peer(Method::GET).await;
    let stub = setup.stub.port;
    assert!(
        established(first, stub),
        "the connection should be open and pooled"
    );
    // The stub keeps idle connections 5 s: closing it sooner is the gateway's doing.
    testkit::wait_for(
        "the gateway to close its idle connection",
        Duration::from_millis(3500),
        || async move { !established(first, stub) },
    )
    .await;
    assert_ne!(client.echo_peer(Method::GET).await, first);
}

/// Whether the TCP connection from local port `local` to port `remote` on this host is still
/// established on the local end (`/proc/net/tcp`, state `01`).
fn established(local: u16, remote: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |address: &str| {
            address
                .rsplit(':')
                .next()
                .and_then(|port| u16::from_str_radix(port, 16).ok())
        };
        port(fields[1]) == Some(local) && port(fields[2]) == Some(remote) && fields[3] == "01"
    })
}
