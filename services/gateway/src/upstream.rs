//! Connections to the services: HTTP/1.1 with keep-alive, kept per worker thread.
//!
//! The gateway runs one single-threaded runtime per core (see `startup`), and a connection's
//! task lives on the thread that opened it; so each thread keeps its own idle connections and
//! takes and returns them without a lock or a wake-up of another thread. A connection goes back
//! once its answer has been read to the end (`body::UpstreamBody`). Each worker's tick closes
//! the ones idle for longer than the pool allows (`close_expired`): below the services' own
//! keep-alive (actix's default is 5 s), so that the gateway, not the service, closes an idle
//! connection and no request is sent on one the service is closing.

use crate::body::RequestBody;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How idle connections are kept.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Longer idle than this, a connection is closed rather than used.
    pub idle_timeout: Duration,
    /// Idle connections kept per endpoint and worker thread.
    pub max_idle: usize,
}

struct Idle {
    sender: SendRequest<RequestBody>,
    expires: Instant,
}

thread_local! {
    static IDLE: RefCell<foldhash::HashMap<SocketAddr, Vec<Idle>>> =
        RefCell::new(foldhash::HashMap::default());
}

/// Closes this thread's idle connections that have outlived the pool's idle timeout (a
/// connection's task ends, closing it, once its sender is dropped while it is idle). Called
/// from each worker's tick, so that the gateway closes them before the services do, whether
/// or not another request comes.
pub fn close_expired() {
    let now = Instant::now();
    IDLE.with_borrow_mut(|idle| {
        idle.retain(|_, list| {
            // Oldest first: they are pushed as they come back.
            let expired = list.partition_point(|idle| idle.expires <= now);
            list.drain(..expired);
            !list.is_empty()
        });
    });
}

/// A connection lent out for one request; giving it back is `Release::release`.
pub struct Release {
    addr: SocketAddr,
    sender: SendRequest<RequestBody>,
    settings: PoolSettings,
}

impl Release {
    pub fn release(self) {
        IDLE.with_borrow_mut(|idle| {
            let list = idle.entry(self.addr).or_default();
            if list.len() < self.settings.max_idle {
                list.push(Idle {
                    sender: self.sender,
                    expires: Instant::now() + self.settings.idle_timeout,
                });
            }
        });
    }
}

/// Why no connection to an endpoint could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting timed out after {0:?}")]
    TimedOut(Duration),
    #[error("connecting failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the HTTP handshake failed: {0}")]
    Handshake(#[from] hyper::Error),
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct SendError {
    pub error: hyper::Error,
}

/// A connection to one endpoint, ready for a request.
pub struct Connection {
    addr: SocketAddr,
    sender: SendRequest<RequestBody>,
    reused: bool,
    connect_timeout: Duration,
}

impl Connection {
    /// An idle connection to `addr` from this thread's pool, or a new one.
    pub async fn get(addr: SocketAddr, connect_timeout: Duration) -> Result<Self, ConnectError> {
        while let Some(mut idle) = take_idle(addr) {
            if idle.expires <= Instant::now() {
                // The ones below it in the stack have been idle longer still.
                drop_idle(addr);
                break;
            }
            if idle.sender.is_closed() {
                continue;
            }
            if idle.sender.ready().await.is_ok() {
                return Ok(Self {
                    addr,
                    sender: idle.sender,
                    reused: true,
                    connect_timeout,
                });
            }
        }
        // Boxed: the connection and handshake futures are large, and a request's future (which
        // hyper moves into place, copying every byte of it) would carry them though nearly
        // every request takes an idle connection.
        Ok(Self {
            addr,
            sender: Box::pin(open(addr, connect_timeout, false)).await?,
            reused: false,
            connect_timeout,
        })
    }

    /// A new connection that may be upgraded (WebSocket tunnels); it is never pooled.
    pub async fn for_upgrade(
        addr: SocketAddr,
        connect_timeout: Duration,
    ) -> Result<Self, ConnectError> {
        Ok(Self {
            addr,
            sender: open(addr, connect_timeout, true).await?,
            reused: false,
            connect_timeout,
        })
    }

    /// Sends `request` and waits for the answer's head. A pooled connection the service closed
    /// before the request was written is replaced by a new one, whatever the method: nothing
    /// reached the service. The connection to give back comes with the answer (`None` for one
    /// that cannot serve another request).
    pub async fn send(
        mut self,
        request: Request<RequestBody>,
        settings: PoolSettings,
    ) -> Result<(Response<Incoming>, Option<Release>), SendError> {
        let response = match self.sender.try_send_request(request).await {
            Ok(response) => response,
            // Boxed: the rare path, whose futures every request's would otherwise carry (and
            // copy, as hyper moves a request's future into place).
            Err(failed) => Box::pin(self.resend(failed)).await?,
        };
        let release =
            (response.status() != http::StatusCode::SWITCHING_PROTOCOLS).then(|| Release {
                addr: self.addr,
                sender: self.sender,
                settings,
            });
        Ok((response, release))
    }

    /// After `try_send_request` failed: on a new connection if the request was not written to a
    /// pooled one, else the failure.
    async fn resend(
        &mut self,
        mut failed: TrySendError<Request<RequestBody>>,
    ) -> Result<Response<Incoming>, SendError> {
        match failed.take_message() {
            Some(request) if self.reused => {
                self.sender = open(self.addr, self.connect_timeout, false)
                    .await
                    .map_err(|_| SendError {
                        error: failed.into_error(),
                    })?;
                self.sender
                    .send_request(request)
                    .await
                    .map_err(|error| SendError { error })
            }
            _ => Err(SendError {
                error: failed.into_error(),
            }),
        }
    }
}

fn take_idle(addr: SocketAddr) -> Option<Idle> {
    IDLE.with_borrow_mut(|idle| idle.get_mut(&addr).and_then(Vec::pop))
}

fn drop_idle(addr: SocketAddr) {
    IDLE.with_borrow_mut(|idle| idle.remove(&addr));
}

async fn open(
    addr: SocketAddr,
    timeout: Duration,
    upgrades: bool,
) -> Result<SendRequest<RequestBody>, ConnectError> {
    let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectError::TimedOut(timeout))??;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection's task stays on this thread (one runtime per thread), beside the pool.
    if upgrades {
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%addr, %error, "upstream connection ended");
            }
        });
    } else {
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%addr, %error, "upstream connection ended");
            }
        });
    }
    Ok(sender)
}
