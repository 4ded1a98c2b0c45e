//! WebSocket tunnels: once both sides have switched protocols, bytes are copied each way until
//! either closes.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

/// Starts the tunnel between the client and the service; it runs until either side closes.
pub fn open(client: OnUpgrade, service: OnUpgrade, endpoint: Option<SocketAddr>) {
    tokio::spawn(async move {
        let (client, service) = match tokio::try_join!(client, service) {
            Ok(pair) => pair,
            Err(error) => {
                tracing::debug!(?endpoint, %error, "the WebSocket upgrade did not complete");
                return;
            }
        };
        let _open = OpenTunnel::count();
        let (mut client, mut service) = (TokioIo::new(client), TokioIo::new(service));
        if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut service).await {
            tracing::debug!(?endpoint, %error, "WebSocket tunnel ended");
        }
    });
}

/// Counts a tunnel in `gateway_websocket_tunnels_open` for as long as it lives.
struct OpenTunnel;

impl OpenTunnel {
    fn count() -> Self {
        metrics::gauge!("gateway_websocket_tunnels_open").increment(1.0);
        Self
    }
}

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        metrics::gauge!("gateway_websocket_tunnels_open").decrement(1.0);
    }
}
