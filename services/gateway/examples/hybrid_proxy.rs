#![allow(clippy::unwrap_used, missing_docs)]
use async_trait::async_trait;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use pingora::apps::ServerApp;
use pingora::protocols::Stream;
use pingora::server::configuration::ServerConf;
use pingora::server::{Server, ShutdownWatch};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

thread_local! {
    static POOL: RefCell<Vec<SendRequest<Incoming>>> = const { RefCell::new(Vec::new()) };
}

async fn sender(upstream: SocketAddr) -> SendRequest<Incoming> {
    loop {
        match POOL.with_borrow_mut(Vec::pop) {
            Some(mut s) => {
                if s.ready().await.is_ok() {
                    return s;
                }
            }
            None => {
                let stream = tokio::net::TcpStream::connect(upstream).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                return s;
            }
        }
    }
}

struct App(SocketAddr);

#[async_trait]
impl ServerApp for App {
    async fn process_new(
        self: &Arc<Self>,
        session: Stream,
        _shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let upstream = self.0;
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| async move {
            req.headers_mut().insert(
                "x-forwarded-for",
                http::HeaderValue::from_static("127.0.0.1"),
            );
            let mut s = sender(upstream).await;
            let resp: Response<Incoming> = s.send_request(req).await?;
            POOL.with_borrow_mut(|p| p.push(s));
            Ok::<_, hyper::Error>(resp)
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(session), service)
            .await;
        None
    }
}

fn main() {
    let upstream = std::env::var("UPSTREAM").unwrap().parse().unwrap();
    let listen = std::env::var("LISTEN").unwrap();
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let conf = ServerConf {
        threads,
        work_stealing: false,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut service = pingora::services::listening::Service::new("hybrid".into(), App(upstream));
    service.add_tcp(&listen);
    server.add_service(service);
    server.run_forever();
}
