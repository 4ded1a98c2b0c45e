//! The gateway's own settings (the shared ones are `platform::CommonConfig`; routes, clusters
//! and rate limits are in the routes file). Every variable has a local default; see
//! `.env.example` and the gateway README.

use crate::upstream::PoolSettings;
use serde::Deserialize;
use std::time::Duration;

pub const SERVICE: &str = "gateway";
pub const DEFAULT_PORT: u16 = 8080;
/// The operations port's default (`GATEWAY_OPS_PORT`).
pub const DEFAULT_OPS_PORT: u16 = 9080;

#[derive(Debug, Clone, Deserialize)]
pub struct GatewayConfig {
    /// The routes file (`deploy/gateway/routes.yaml` from the repository root).
    #[serde(default = "defaults::routes_file")]
    pub gateway_routes_file: String,
    /// Where auth publishes its signing keys.
    #[serde(default = "defaults::jwks_url")]
    pub jwks_url: String,
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    /// The operations port: `/metrics` and the detailed `/health`, for Prometheus and the
    /// probes; never exposed to clients.
    #[serde(default = "defaults::ops_port")]
    pub gateway_ops_port: u16,
    /// Peers whose `X-Forwarded-For` is believed: CIDR ranges, comma-separated. Only the
    /// proxies in front of the gateway (the ingress controller's pods), never a whole network:
    /// any peer in a range can claim to be any client. Empty believes no one.
    #[serde(default = "defaults::trusted_proxies")]
    pub gateway_trusted_proxies: String,
    /// Browser origins allowed by CORS, comma-separated; `*` allows any.
    #[serde(default = "defaults::cors_origins")]
    pub gateway_cors_origins: String,
    /// Prefix of the gateway's Redis keys (rate-limit counters).
    #[serde(default = "defaults::redis_prefix")]
    pub gateway_redis_prefix: String,
    /// How long a request waits for Redis before the in-memory limiter takes over.
    #[serde(default = "defaults::redis_timeout_ms")]
    pub gateway_redis_timeout_ms: u64,
    /// How many verified tokens are remembered.
    #[serde(default = "defaults::token_cache_size")]
    pub gateway_token_cache_size: usize,
    /// Worker threads of the proxy; 0 means one per core.
    #[serde(default)]
    pub gateway_threads: usize,
    /// How long the merged OpenAPI document is reused before services are asked again.
    #[serde(default = "defaults::openapi_cache_secs")]
    pub gateway_openapi_cache_secs: u64,
    /// How long a client connection may stay open waiting for its next request.
    #[serde(default = "defaults::keepalive_secs")]
    pub gateway_keepalive_secs: u64,
    /// How long an idle connection to a service is kept for reuse: below the services' own
    /// keep-alive (5 s), so the gateway closes it before the service does.
    #[serde(default = "defaults::upstream_idle_ms")]
    pub gateway_upstream_idle_ms: u64,
    /// Idle connections kept per service endpoint and worker thread.
    #[serde(default = "defaults::upstream_max_idle")]
    pub gateway_upstream_max_idle: usize,
}

impl GatewayConfig {
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.gateway_redis_timeout_ms.max(1))
    }

    pub fn openapi_cache(&self) -> Duration {
        Duration::from_secs(self.gateway_openapi_cache_secs)
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.gateway_keepalive_secs.max(1))
    }

    pub fn upstream_pool(&self) -> PoolSettings {
        PoolSettings {
            idle_timeout: Duration::from_millis(self.gateway_upstream_idle_ms),
            max_idle: self.gateway_upstream_max_idle,
        }
    }

    pub fn threads(&self) -> usize {
        match self.gateway_threads {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            threads => threads,
        }
    }
}

mod defaults {
    pub fn ops_port() -> u16 {
        super::DEFAULT_OPS_PORT
    }
    pub fn routes_file() -> String {
        "deploy/gateway/routes.yaml".into()
    }
    pub fn jwks_url() -> String {
        "http://127.0.0.1:8081/.well-known/jwks.json".into()
    }
    pub fn issuer() -> String {
        "faded-skies-auth".into()
    }
    pub fn audience() -> String {
        "faded-skies".into()
    }
    pub fn trusted_proxies() -> String {
        "127.0.0.1/32,::1/128".into()
    }
    pub fn cors_origins() -> String {
        "http://localhost:3000,http://localhost:19006".into()
    }
    pub fn redis_prefix() -> String {
        "gateway:".into()
    }
    pub fn redis_timeout_ms() -> u64 {
        100
    }
    pub fn token_cache_size() -> usize {
        100_000
    }
    pub fn openapi_cache_secs() -> u64 {
        10
    }
    pub fn keepalive_secs() -> u64 {
        60
    }
    pub fn upstream_idle_ms() -> u64 {
        4_000
    }
    pub fn upstream_max_idle() -> usize {
        256
    }
}
