//! Realtime's own settings (the shared ones are `platform::CommonConfig`). Every variable has
//! a local default; see the service README.

use serde::Deserialize;
use std::time::Duration;

pub const SERVICE: &str = "realtime";
pub const DEFAULT_PORT: u16 = 8088;

/// Where the Engine.IO requests arrive (socket.io-client's default path).
pub const PATH: &str = "/socket.io/";

#[derive(Debug, Clone, Deserialize)]
pub struct RealtimeConfig {
    /// Claims `iss` and `aud` every access token must carry.
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    /// Auth's key set, to verify the token a client sends at CONNECT.
    #[serde(default = "defaults::jwks_url")]
    pub jwks_url: String,
    /// Base URLs of the services inbound events are proxied to; empty while a service is not
    /// deployed (its events are answered with an error ack).
    #[serde(default)]
    pub realtime_upstream_tracking: String,
    #[serde(default)]
    pub realtime_upstream_chat: String,
    /// How long a proxied call may take before the event is answered `UPSTREAM_TIMEOUT`.
    #[serde(default = "defaults::proxy_timeout_ms")]
    pub realtime_proxy_timeout_ms: u64,
    /// Largest event payload (its JSON) a socket may send; bigger ones are refused
    /// (`PAYLOAD_TOO_LARGE`). The transport's own limit, `maxPayload`, closes the connection.
    #[serde(default = "defaults::max_event_bytes")]
    pub realtime_max_event_bytes: usize,
    /// Events per second a socket may send (a token bucket of `REALTIME_EVENT_BURST`).
    #[serde(default = "defaults::events_per_second")]
    pub realtime_events_per_second: u32,
    #[serde(default = "defaults::event_burst")]
    pub realtime_event_burst: u32,
    /// Rooms a socket may be in (its own `user:` room and `agents` included).
    #[serde(default = "defaults::max_rooms")]
    pub realtime_max_rooms: usize,
    /// Handshakes (new sessions) one client address may make a minute, across the replicas;
    /// 0 (the default, for local runs and load tests from one address) for no limit. The
    /// deployments set it (compose, Kubernetes: 120).
    #[serde(default = "defaults::handshakes_per_minute")]
    pub realtime_handshakes_per_minute: u64,
    /// `maxPayload` of the Engine.IO handshake: the largest HTTP body or WebSocket message.
    #[serde(default = "defaults::max_payload")]
    pub realtime_max_payload: u64,
    #[serde(default = "defaults::ping_interval_ms")]
    pub realtime_ping_interval_ms: u64,
    #[serde(default = "defaults::ping_timeout_ms")]
    pub realtime_ping_timeout_ms: u64,
    /// How long a new connection may take to send its CONNECT.
    #[serde(default = "defaults::connect_timeout_ms")]
    pub realtime_connect_timeout_ms: u64,
    /// Put before every Redis channel and key of the adapter and the replica list (several
    /// deployments, or tests, sharing one Redis).
    #[serde(default = "defaults::redis_prefix")]
    pub realtime_redis_prefix: String,
    /// The Redis channel services publish ephemeral events on (driver locations).
    #[serde(default = "defaults::emit_channel")]
    pub realtime_emit_channel: String,
    /// Where the other replicas reach this one (`http://<pod IP>:8088`); by default
    /// `http://$POD_IP:<port>`, or the loopback address when `POD_IP` is not set.
    #[serde(default)]
    pub realtime_advertise_url: String,
    #[serde(default)]
    pub pod_ip: String,
    /// At shutdown, the connections are closed over this long so that their clients do not
    /// all reconnect to the other replicas in the same instant.
    #[serde(default = "defaults::drain_secs")]
    pub realtime_drain_secs: u64,
}

impl RealtimeConfig {
    /// Refuses settings that cannot work.
    pub fn check(&self) -> Result<(), String> {
        if self.realtime_events_per_second == 0 || self.realtime_event_burst == 0 {
            return Err(
                "REALTIME_EVENTS_PER_SECOND and REALTIME_EVENT_BURST must be at least 1".into(),
            );
        }
        if self.realtime_max_rooms < 2 {
            return Err("REALTIME_MAX_ROOMS must leave room for the user's own rooms (2)".into());
        }
        if self.realtime_max_payload < 1024 {
            return Err("REALTIME_MAX_PAYLOAD must be at least 1024 bytes".into());
        }
        if self.realtime_redis_prefix.is_empty() || self.realtime_emit_channel.is_empty() {
            return Err("REALTIME_REDIS_PREFIX and REALTIME_EMIT_CHANNEL must be set".into());
        }
        Ok(())
    }

    /// The engine's settings.
    pub fn socketio(&self) -> socketio::Config {
        socketio::Config {
            ping_interval: Duration::from_millis(self.realtime_ping_interval_ms),
            ping_timeout: Duration::from_millis(self.realtime_ping_timeout_ms),
            max_payload: self.realtime_max_payload,
            connect_timeout: Duration::from_millis(self.realtime_connect_timeout_ms),
            ..socketio::Config::default()
        }
    }

    /// Where the other replicas reach this one on `port`.
    pub fn advertise_url(&self, port: u16) -> String {
        if !self.realtime_advertise_url.is_empty() {
            return self.realtime_advertise_url.clone();
        }
        let host = if self.pod_ip.is_empty() {
            "127.0.0.1"
        } else {
            self.pod_ip.as_str()
        };
        format!("http://{host}:{port}")
    }

    pub fn proxy_timeout(&self) -> Duration {
        Duration::from_millis(self.realtime_proxy_timeout_ms)
    }
}

mod defaults {
    pub fn issuer() -> String {
        "faded-skies-auth".into()
    }
    pub fn audience() -> String {
        "faded-skies".into()
    }
    pub fn jwks_url() -> String {
        "http://127.0.0.1:8081/.well-known/jwks.json".into()
    }
    pub const fn proxy_timeout_ms() -> u64 {
        5_000
    }
    pub const fn max_event_bytes() -> usize {
        16 * 1024
    }
    pub const fn events_per_second() -> u32 {
        10
    }
    pub const fn event_burst() -> u32 {
        20
    }
    pub const fn max_rooms() -> usize {
        50
    }
    pub const fn handshakes_per_minute() -> u64 {
        0
    }
    pub const fn max_payload() -> u64 {
        1_000_000
    }
    pub const fn ping_interval_ms() -> u64 {
        25_000
    }
    pub const fn ping_timeout_ms() -> u64 {
        20_000
    }
    pub const fn connect_timeout_ms() -> u64 {
        45_000
    }
    pub fn redis_prefix() -> String {
        "realtime".into()
    }
    pub fn emit_channel() -> String {
        "realtime:emit".into()
    }
    pub const fn drain_secs() -> u64 {
        5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> RealtimeConfig {
        platform::config::load_from(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .unwrap()
    }

    #[test]
    fn the_defaults_are_the_reference_servers_and_pass_the_check() {
        let config = load(&[]);
        assert_eq!(config.check(), Ok(()));
        let socketio = config.socketio();
        assert_eq!(socketio.ping_interval, Duration::from_secs(25));
        assert_eq!(socketio.ping_timeout, Duration::from_secs(20));
        assert_eq!(socketio.max_payload, 1_000_000);
        // A load generator on one address opens thousands of sessions (make bench: 10,000).
        assert_eq!(config.realtime_handshakes_per_minute, 0);
        assert_eq!(config.advertise_url(8088), "http://127.0.0.1:8088");
        assert_eq!(
            load(&[("POD_IP", "10.1.2.3")]).advertise_url(8088),
            "http://10.1.2.3:8088"
        );
    }

    #[test]
    fn limits_that_cannot_work_are_refused() {
        assert!(
            load(&[("REALTIME_EVENTS_PER_SECOND", "0")])
                .check()
                .is_err()
        );
        assert!(load(&[("REALTIME_MAX_ROOMS", "1")]).check().is_err());
        assert!(load(&[("REALTIME_MAX_PAYLOAD", "10")]).check().is_err());
    }
}
