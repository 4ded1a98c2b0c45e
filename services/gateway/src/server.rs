//! Client connections: Pingora accepts them (listeners, graceful restarts, shutdown) and hands
//! each to hyper's HTTP/1.1 server, which parses requests and writes answers; `proxy` decides
//! what each answer is.
//!
//! Pingora's own HTTP proxy engine was measured at three quarters of nginx's throughput on this
//! path before any gateway logic ran; hyper inside Pingora's per-thread runtimes beats nginx
//! (docs/benchmarks.md, "Gateway overhead").

use crate::proxy::Gateway;
use async_trait::async_trait;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use pingora::apps::ServerApp;
use pingora::protocols::Stream;
use pingora::server::ShutdownWatch;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

pub struct HttpApp {
    pub gateway: Arc<Gateway>,
    /// How long a client connection may sit between requests (and take to send a request's
    /// head) before it is closed.
    pub keepalive: Duration,
}

#[async_trait]
impl ServerApp for HttpApp {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        keep_timers_near();
        let peer = stream
            .get_socket_digest()
            .and_then(|digest| digest.peer_addr().and_then(|addr| addr.as_inet()).copied())
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        let gateway = Arc::clone(&self.gateway);
        let service = service_fn(move |request| {
            let gateway = Arc::clone(&gateway);
            async move { Ok::<_, Infallible>(gateway.handle(request, peer).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.keepalive)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = shutting_down(shutdown.clone()) => {
                // Finish the request in flight, then close instead of waiting for another.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            tracing::debug!(%peer, %error, "client connection ended with an error");
        }
        None
    }
}

/// Resolves when the server starts shutting down.
async fn shutting_down(mut shutdown: ShutdownWatch) {
    // An error means the server is gone, which is a shutdown as well.
    let _ = shutdown.wait_for(|shutting_down| *shutting_down).await;
}

/// How often each worker's tick fires (see `keep_timers_near`).
const TICK: Duration = Duration::from_millis(250);

thread_local! {
    static TICKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts this worker's tick, once. Tokio wakes a thread's reactor (an eventfd write and one
/// more round of `epoll_wait`) whenever a timer is set earlier than the earliest one the thread
/// sleeps towards; on a quiet worker that was every request's upstream timeout. A timer that
/// fires every quarter of a second keeps the earliest one near, so that timeouts of a quarter
/// of a second or more are set without waking anything.
fn keep_timers_near() {
    if TICKING.replace(true) {
        return;
    }
    tokio::spawn(async {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
        }
    });
}
