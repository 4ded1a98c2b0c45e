//! The protocol's settings, as announced in the Engine.IO handshake and enforced afterwards.

use std::time::Duration;

/// How sessions and sockets behave.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often the server pings each session (`pingInterval` in the handshake).
    pub ping_interval: Duration,
    /// How long a client has to answer a ping before its session is closed (`pingTimeout`).
    pub ping_timeout: Duration,
    /// Largest HTTP body or WebSocket message a client may send (`maxPayload`); a bigger one
    /// closes the session.
    pub max_payload: u64,
    /// How long a new session may go without connecting to a namespace before it is closed.
    pub connect_timeout: Duration,
    /// How long an upgrade from polling to WebSocket may take between the probe and the
    /// `upgrade` packet.
    pub upgrade_timeout: Duration,
    /// Packets queued for one session before it counts as too slow and is closed, so that a
    /// client that stops reading cannot make the server hold its broadcasts for ever.
    pub max_buffered_packets: usize,
    /// Most binary attachments one packet may announce.
    pub max_attachments: usize,
    /// Inbound events of one socket whose handlers may be waiting at once; past it the server
    /// stops reading from that client until one finishes.
    pub max_pending_events: usize,
}

impl Default for Config {
    /// The defaults of the reference server (socket.io 4), which clients are tuned for.
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload: 1_000_000,
            connect_timeout: Duration::from_secs(45),
            upgrade_timeout: Duration::from_secs(10),
            max_buffered_packets: 1024,
            max_attachments: 10,
            max_pending_events: 16,
        }
    }
}
