//! Client connections: each worker thread accepts on the gateway's listening socket and hands
//! its connections to hyper's HTTP/1.1 server, which parses requests and writes answers;
//! `proxy` decides what each answer is. Pingora runs the workers (one single-threaded runtime
//! each) and the background services, and handles the signals.
//!
//! A connection is accepted, registered with the reactor and served on one thread. With one
//! Pingora listening service of N threads, Pingora accepts on one thread and serves on a random
//! one, so every read on half the connections wakes a second thread; with N listening services
//! of one thread each on the same address, Pingora hands every service the same descriptor
//! and each closes it at shutdown, which aborts the process. So the socket is bound here, once,
//! and each worker accepts on its own duplicate of it.
//!
//! The connections are spread evenly over the workers: the worker that accepts one serves it
//! unless another serves fewer, and then hands it over before reading from it. Both workers'
//! reactors see every new connection and one takes it, so otherwise one worker may take most of
//! a burst of clients (a load generator opening its 64 connections, a restarted ingress): it
//! then has twice the work, and the other wakes, serves one request and sleeps again, paying a
//! thread switch per request. Measured, an uneven split cost about 10 % of throughput.
//!
//! On SIGTERM the connections are drained before Pingora is told to stop: each finishes the
//! request it is serving and closes, and the process exits once none is left (or after
//! `SHUTDOWN_TIMEOUT_SECS`). Pingora's own graceful stop waits a fixed grace period and then
//! drops whatever is still running.
//!
//! Pingora's own HTTP proxy engine was measured at three quarters of nginx's throughput on this
//! path before any gateway logic ran; hyper on per-thread runtimes beats nginx
//! (docs/benchmarks.md, "Gateway overhead").

use crate::proxy::Gateway;
use async_trait::async_trait;
use futures_util::FutureExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use pingora::server::{ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora::services::background::BackgroundService;
use socket2::{Domain, Socket, Type};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::SignalKind;
use tokio::sync::{mpsc, watch};

/// Connections the kernel holds for the workers to accept; bursts of new clients wait here
/// rather than being refused.
const BACKLOG: i32 = 4096;

/// How long a worker waits after a failed accept (out of file descriptors, most likely) before
/// it tries again, so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds the gateway's listening socket (`host:port`; the first address the host resolves to).
pub fn bind(host: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("{host} resolves to no address"),
        )
    })?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // A restarted gateway binds again at once, whatever connections of the old one linger.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// What each worker serves a connection with.
pub struct HttpApp {
    pub gateway: Arc<Gateway>,
    /// How long a client connection may sit between requests (and take to send a request's
    /// head) before it is closed.
    pub keepalive: Duration,
    pub connections: Arc<Connections>,
}

/// One worker thread: accepts connections on its duplicate of the listening socket and serves
/// them (or hands them to a worker that serves fewer), until the server shuts down.
pub struct Worker {
    index: usize,
    app: Arc<HttpApp>,
    listener: std::net::TcpListener,
    /// Every worker's inbox, by index, this one's included.
    inboxes: Arc<[mpsc::UnboundedSender<Handoff>]>,
    /// Connections handed to this worker; taken when it starts.
    inbox: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Handoff>>>,
}

/// A connection one worker accepted for another to serve, not yet read from.
struct Handoff {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    open: OpenConnection,
}

/// One worker per thread for `app` (whose `connections` count as many), each with its own
/// duplicate of `listener`.
pub fn workers(
    app: &Arc<HttpApp>,
    listener: &std::net::TcpListener,
    threads: usize,
) -> std::io::Result<Vec<Worker>> {
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| mpsc::unbounded_channel()).unzip();
    let inboxes: Arc<[_]> = senders.into();
    receivers
        .into_iter()
        .enumerate()
        .map(|(index, inbox)| {
            Ok(Worker {
                index,
                app: Arc::clone(app),
                listener: listener.try_clone()?,
                inboxes: Arc::clone(&inboxes),
                inbox: std::sync::Mutex::new(Some(inbox)),
            })
        })
        .collect()
}

#[async_trait]
impl BackgroundService for Worker {
    async fn start(&self, shutdown: ShutdownWatch) {
        let inbox = match self.inbox.lock() {
            Ok(mut inbox) => inbox.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let (listener, mut inbox) = match (
            self.listener.try_clone().and_then(TcpListener::from_std),
            inbox,
        ) {
            (Ok(listener), Some(inbox)) => (listener, inbox),
            (Err(error), _) => {
                // Start-up, in effect: a gateway short of a worker must not look healthy.
                tracing::error!(%error, "a worker cannot listen; exiting");
                std::process::exit(1);
            }
            (_, None) => {
                tracing::error!(worker = self.index, "a worker was started twice; exiting");
                std::process::exit(1);
            }
        };
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stopped = shutting_down(shutdown);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                // Keeps the earliest timer near (see `TICK`), and closes this thread's
                // connections to the services that have been idle too long.
                _ = tick.tick() => crate::upstream::close_expired(),
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => self.place(stream, peer),
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                Some(handoff) = inbox.recv() => self.take(handoff),
                () = &mut stopped => {
                    // Pingora is stopping: the connections finish their requests and close, as
                    // for a drain (they watch that signal alone).
                    self.app.connections.start_draining();
                    return;
                }
            }
        }
    }
}

impl Worker {
    /// Serves a connection this worker accepted, or hands it to the worker that serves fewest.
    fn place(&self, stream: TcpStream, peer: SocketAddr) {
        let open = self.app.connections.assign(self.index);
        if open.worker == self.index {
            self.serve(stream, peer, open);
            return;
        }
        // Out of this worker's reactor, to be registered with the other's.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(%peer, %error, "a connection could not be handed over");
                return;
            }
        };
        let handoff = Handoff { stream, peer, open };
        if let Err(mpsc::error::SendError(handoff)) =
            self.inboxes[handoff.open.worker].send(handoff)
        {
            // The other worker has stopped (shutting down): served here after all.
            let open = self.app.connections.assign_to(self.index);
            self.take(Handoff { open, ..handoff });
        }
    }

    /// Serves a connection handed over by another worker (or kept after a failed hand-over).
    fn take(&self, handoff: Handoff) {
        let Handoff { stream, peer, open } = handoff;
        match TcpStream::from_std(stream) {
            Ok(stream) => self.serve(stream, peer, open),
            Err(error) => tracing::debug!(%peer, %error, "a handed-over connection was lost"),
        }
    }

    fn serve(&self, stream: TcpStream, peer: SocketAddr, open: OpenConnection) {
        let app = Arc::clone(&self.app);
        tokio::spawn(async move { app.serve(stream, peer, open).await });
    }
}

impl HttpApp {
    async fn serve(&self, stream: TcpStream, peer: SocketAddr, _open: OpenConnection) {
        // Answers go out as soon as they are written; hyper already writes each in one piece.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let peer: IpAddr = peer.ip();
        let gateway = Arc::clone(&self.gateway);
        let service = service_fn(move |request| {
            // Boxed: hyper moves a request's future into place, and the gateway's is kilobytes
            // (4.3 KiB): each move copied all of it, on every request.
            Box::pin(Arc::clone(&gateway).handle(request, peer)).map(Ok::<_, Infallible>)
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.keepalive);
        let draining = self.connections.draining();
        if draining {
            // Accepted while draining: one request, then close.
            builder.keep_alive(false);
        }
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let result = if draining {
            connection.await
        } else {
            tokio::select! {
                result = connection.as_mut() => result,
                () = self.connections.closing() => {
                    // Finish the request in flight, then close instead of waiting for another.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(%peer, %error, "client connection ended with an error");
        }
    }
}

/// The client connections open on each worker, and whether they are being drained.
pub struct Connections {
    open: Box<[AtomicUsize]>,
    draining: watch::Sender<bool>,
}

impl Connections {
    pub fn new(workers: usize) -> Self {
        Self {
            open: (0..workers.max(1)).map(|_| AtomicUsize::new(0)).collect(),
            draining: watch::Sender::new(false),
        }
    }

    /// Counts a new connection accepted by worker `accepting` on the worker that is to serve
    /// it: the one with the fewest open, `accepting` itself unless another has fewer.
    fn assign(self: &Arc<Self>, accepting: usize) -> OpenConnection {
        let mut worker = accepting;
        let mut fewest = self.open[accepting].load(Ordering::Relaxed);
        for (other, open) in self.open.iter().enumerate() {
            let open = open.load(Ordering::Relaxed);
            if open < fewest {
                (worker, fewest) = (other, open);
            }
        }
        self.assign_to(worker)
    }

    fn assign_to(self: &Arc<Self>, worker: usize) -> OpenConnection {
        self.open[worker].fetch_add(1, Ordering::AcqRel);
        OpenConnection {
            connections: Arc::clone(self),
            worker,
        }
    }

    fn open_total(&self) -> usize {
        self.open
            .iter()
            .map(|open| open.load(Ordering::Acquire))
            .sum()
    }

    fn draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves when the connections are to close: draining, or Pingora shutting down (the
    /// workers then start a drain). One signal, as every connection polls it on every wake-up.
    async fn closing(&self) {
        // An error means the sender is gone with the server: closing as well.
        let _ = self
            .draining
            .subscribe()
            .wait_for(|draining| *draining)
            .await;
    }

    /// Asks every connection to finish its request and close.
    fn start_draining(&self) {
        self.draining.send_replace(true);
    }

    /// [`Self::start_draining`], then waits until no connection is open or `timeout` has
    /// passed.
    pub async fn drain(&self, timeout: Duration) {
        self.start_draining();
        let started = tokio::time::Instant::now();
        while self.open_total() > 0 && started.elapsed() < timeout {
            tokio::time::sleep(DRAIN_POLL).await;
        }
        let left = self.open_total();
        if left > 0 {
            tracing::warn!(
                left,
                ?timeout,
                "connections still open at the end of the drain"
            );
        }
    }
}

/// How often a drain looks whether connections are left.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// Counts a connection as open on its worker for as long as it lives.
struct OpenConnection {
    connections: Arc<Connections>,
    worker: usize,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.connections.open[self.worker].fetch_sub(1, Ordering::AcqRel);
    }
}

/// The Unix signals: `SIGTERM` (and `SIGQUIT`) drain the client connections, then stop the
/// server gracefully; `SIGINT` stops it at once. Pingora's `SIGQUIT` upgrade, which hands the
/// listening sockets to a new process, does not apply: the socket is the gateway's own, and a
/// new version is a new pod, not a new process beside the old one.
pub struct DrainingSignals {
    pub connections: Arc<Connections>,
    pub timeout: Duration,
}

#[async_trait]
impl ShutdownSignalWatch for DrainingSignals {
    async fn recv(&self) -> ShutdownSignal {
        tokio::select! {
            () = signal(SignalKind::terminate()) => tracing::info!("SIGTERM: draining connections"),
            () = signal(SignalKind::quit()) => tracing::info!("SIGQUIT: draining connections"),
            () = signal(SignalKind::interrupt()) => return ShutdownSignal::FastShutdown,
        }
        self.connections.drain(self.timeout).await;
        ShutdownSignal::GracefulTerminate
    }
}

/// Resolves when `kind` is received (never, if it cannot be listened for).
async fn signal(kind: SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(error) => {
            tracing::error!(%error, ?kind, "cannot listen for the signal");
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves when the server starts shutting down.
async fn shutting_down(mut shutdown: ShutdownWatch) {
    // An error means the server is gone, which is a shutdown as well.
    let _ = shutdown.wait_for(|shutting_down| *shutting_down).await;
}

/// How often each worker's tick fires. Tokio wakes a thread's reactor (an eventfd write and
/// one more round of `epoll_wait`) whenever a timer is set earlier than the earliest one the
/// thread sleeps towards; on a quiet worker that was every request's upstream timeout. A timer
/// that fires every quarter of a second keeps the earliest one near, so that timeouts of a
/// quarter of a second or more are set without waking anything. The same tick closes the
/// worker's idle connections to the services once they outlive the pool's idle timeout.
const TICK: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_gateway_listens_on_is_refused() {
        let first = bind("127.0.0.1", 0).unwrap();
        let port = first.local_addr().unwrap().port();

        let second = bind("127.0.0.1", port).unwrap_err();

        assert_eq!(second.kind(), std::io::ErrorKind::AddrInUse);
    }

    #[test]
    fn a_new_connection_goes_to_the_worker_serving_fewest() {
        let connections = Arc::new(Connections::new(3));

        let first = connections.assign(0);
        let second = connections.assign(0);
        let third = connections.assign(1);
        let fourth = connections.assign(2);

        // Kept by the worker that accepted it unless another serves fewer.
        assert_eq!(
            [first.worker, second.worker, third.worker, fourth.worker],
            [0, 1, 2, 2]
        );
        drop(first);
        assert_eq!(connections.assign(2).worker, 0);
        assert_eq!(connections.open_total(), 3);
    }

    #[test]
    fn workers_accept_on_duplicates_of_one_socket() {
        let listener = bind("localhost", 0).unwrap();
        let duplicate = listener.try_clone().unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);

        let _client = std::net::TcpStream::connect(addr).unwrap();
        // Non-blocking, as tokio needs it; the connection may take a moment to be queued.
        let accepted = (0..100).find_map(|_| match duplicate.accept() {
            Ok(accepted) => Some(accepted),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                None
            }
            Err(error) => panic!("{error}"),
        });
        assert!(accepted.is_some(), "the duplicate accepted nothing");
    }
}
