//! Two bare HTTP/1.1 reverse proxies, for the benchmark's comparison of proxy cores
//! (`BENCH_BARE=1 scripts/bench-gateway.sh`; docs/benchmarks.md, "Gateway overhead"): no
//! routing, authentication, limits, metrics or logs, only the forwarding, on the gateway's
//! runtime shape (one current-thread runtime per core, each accepting on its own
//! `SO_REUSEPORT` socket and keeping its own idle upstream connections).
//!
//!   bare_proxy hyper|pingora LISTEN_ADDR UPSTREAM_ADDR
//!
//! - `hyper`: hyper's HTTP/1 server and client connections, as the gateway uses them (the
//!   answer is read whole before its upstream connection goes back to the pool);
//! - `pingora`: Pingora's HTTP/1 server and client sessions, driven inline by one task per
//!   client connection, as Pingora's own proxy drives them.
//!
//! A measuring tool, not a proxy to deploy: an error ends the connection, nothing times out.

use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: bare_proxy hyper|pingora LISTEN_ADDR UPSTREAM_ADDR";

#[derive(Clone, Copy)]
enum Core {
    Hyper,
    Pingora,
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let (Some(core), Some(listen), Some(upstream)) = (args.next(), args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let core = match core.as_str() {
        "hyper" => Core::Hyper,
        "pingora" => Core::Pingora,
        _ => return Err(USAGE.into()),
    };
    let listen: SocketAddr = listen.parse()?;
    let upstream: SocketAddr = upstream.parse()?;
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let workers = (0..threads)
        .map(|_| {
            let listener = listen_on(listen)?;
            Ok(std::thread::spawn(move || run(core, listener, upstream)))
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked")??;
    }
    Ok(())
}

/// One worker's own listening socket on the shared address: the kernel spreads new
/// connections over the workers.
fn listen_on(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

fn run(core: Core, listener: std::net::TcpListener, upstream: SocketAddr) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, accept(core, listener, upstream))
}

async fn accept(
    core: Core,
    listener: std::net::TcpListener,
    upstream: SocketAddr,
) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::task::spawn_local(async move {
            // A connection's end, clean or not, says nothing the measurement needs.
            let _ = match core {
                Core::Hyper => with_hyper::serve(stream, upstream).await,
                Core::Pingora => with_pingora::serve(stream, upstream).await,
            };
        });
    }
}

async fn connect(upstream: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

mod with_hyper {
    use super::{BoxError, connect};
    use bytes::BytesMut;
    use gateway::body::ResponseBody;
    use http::header::{HeaderName, HeaderValue};
    use http::{Request, Response};
    use http_body::Body;
    use hyper::body::Incoming;
    use hyper::client::conn::http1::{self as client, SendRequest};
    use hyper::server::conn::http1 as server;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use std::cell::RefCell;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use tokio::net::TcpStream;

    const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

    thread_local! {
        static IDLE: RefCell<Vec<SendRequest<Incoming>>> = const { RefCell::new(Vec::new()) };
    }

    pub async fn serve(stream: TcpStream, upstream: SocketAddr) -> Result<(), BoxError> {
        let service = service_fn(move |request| forward(request, upstream));
        server::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await?;
        Ok(())
    }

    async fn forward(
        mut request: Request<Incoming>,
        upstream: SocketAddr,
    ) -> Result<Response<ResponseBody>, BoxError> {
        request
            .headers_mut()
            .insert(X_FORWARDED_FOR, HeaderValue::from_static("127.0.0.1"));
        let mut sender = match IDLE.with_borrow_mut(Vec::pop) {
            Some(sender) => sender,
            None => {
                let (sender, connection) =
                    client::handshake(TokioIo::new(connect(upstream).await?)).await?;
                tokio::task::spawn_local(connection);
                sender
            }
        };
        let (parts, mut body) = sender.send_request(request).await?.into_parts();
        let mut bytes = BytesMut::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame?.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
        IDLE.with_borrow_mut(|idle| idle.push(sender));
        Ok(Response::from_parts(
            parts,
            ResponseBody::local(bytes.freeze()),
        ))
    }
}

mod with_pingora {
    use super::{BoxError, connect};
    use pingora::protocols::Stream;
    use pingora::protocols::http::v1::client::HttpSession as UpstreamSession;
    use pingora::protocols::http::v1::server::HttpSession as ClientSession;
    use pingora::protocols::l4::stream::Stream as TcpSession;
    use std::cell::RefCell;
    use std::net::SocketAddr;
    use tokio::net::TcpStream;

    thread_local! {
        static IDLE: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
    }

    pub async fn serve(stream: TcpStream, upstream: SocketAddr) -> Result<(), BoxError> {
        let mut stream: Stream = Box::new(TcpSession::from(stream));
        loop {
            let mut client = ClientSession::new(stream);
            if client.read_request().await?.is_none() {
                return Ok(());
            }
            let mut request = Box::new(client.req_header().clone());
            request.insert_header("x-forwarded-for", "127.0.0.1")?;
            let idle = match IDLE.with_borrow_mut(Vec::pop) {
                Some(idle) => idle,
                None => Box::new(TcpSession::from(connect(upstream).await?)),
            };
            let mut service = UpstreamSession::new(idle);
            service.write_request_header(request).await?;
            while let Some(chunk) = client.read_body_bytes().await? {
                service.write_body(&chunk).await?;
            }
            service.finish_body().await?;
            service.read_response().await?;
            let response = service.resp_header().ok_or("no answer from the service")?;
            client
                .write_response_header(Box::new(response.clone()))
                .await?;
            while let Some(chunk) = service.read_body_bytes().await? {
                client.write_body(&chunk).await?;
            }
            client.finish_body().await?;
            // As Pingora's proxy does once an answer is complete: without it the session
            // keeps its initial "close", and every request would open a new connection.
            service.respect_keepalive();
            if let Some(idle) = service.reuse().await {
                IDLE.with_borrow_mut(|pool| pool.push(idle));
            }
            match client.reuse().await? {
                Some(reusable) => stream = reusable.into_parts().0,
                None => return Ok(()),
            }
        }
    }
}
