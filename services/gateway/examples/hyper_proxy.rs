#![allow(clippy::unwrap_used, missing_docs)]
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Pool = Rc<RefCell<Vec<SendRequest<Incoming>>>>;

async fn sender(pool: &Pool, upstream: SocketAddr) -> SendRequest<Incoming> {
    loop {
        let candidate = pool.borrow_mut().pop();
        match candidate {
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
                tokio::task::spawn_local(async move {
                    let _ = conn.await;
                });
                return s;
            }
        }
    }
}

fn main() {
    let upstream: SocketAddr = std::env::var("UPSTREAM").unwrap().parse().unwrap();
    let listen: SocketAddr = std::env::var("LISTEN").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        let pool: Pool = Rc::default();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let pool = pool.clone();
            tokio::task::spawn_local(async move {
                let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    let pool = pool.clone();
                    async move {
                        req.headers_mut().insert(
                            "x-forwarded-for",
                            http::HeaderValue::from_static("127.0.0.1"),
                        );
                        let mut s = sender(&pool, upstream).await;
                        let resp: Response<Incoming> = s.send_request(req).await?;
                        pool.borrow_mut().push(s);
                        Ok::<_, hyper::Error>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
