//! The shape of `routes.yaml` as written. Every struct refuses unknown keys, so a misspelt key
//! is an error naming its line rather than a setting silently ignored.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    #[serde(default)]
    pub defaults: RouteDefaults,
    #[serde(default)]
    pub rate_limits: BTreeMap<String, PolicyFile>,
    pub clusters: BTreeMap<String, ClusterFile>,
    pub routes: Vec<RouteFile>,
}

/// What a route gets when it does not say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDefaults {
    #[serde(default = "defaults::auth")]
    pub auth: String,
    #[serde(default)]
    pub rate_limits: Vec<String>,
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: f64,
    #[serde(default = "defaults::retries")]
    pub retries: u8,
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: u64,
}

impl Default for RouteDefaults {
    fn default() -> Self {
        Self {
            auth: defaults::auth(),
            rate_limits: Vec::new(),
            timeout_secs: defaults::timeout_secs(),
            retries: defaults::retries(),
            max_body_bytes: defaults::max_body_bytes(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub requests: u64,
    pub window_secs: u64,
    /// `ip` or `user_or_ip`.
    pub per: String,
    /// `exact` (counted in Redis before the request passes) or `batched` (see `rate_limit`).
    #[serde(default = "defaults::counting")]
    pub counting: String,
    /// Requests per window for a signed-in caller of a role (`admin: 3000`), on a
    /// `user_or_ip` policy; other callers get `requests`.
    #[serde(default)]
    pub roles: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// `host:port` of each endpoint: the local default, replaced by `GATEWAY_CLUSTER_<NAME>`.
    pub endpoints: Vec<String>,
    /// Path probed by the active health check; absent means TCP connect only.
    #[serde(default)]
    pub health_check: Option<String>,
    #[serde(default = "defaults::health_interval_secs")]
    pub health_interval_secs: u64,
    /// Path of the service's OpenAPI document, merged into the gateway's `/openapi.json`.
    #[serde(default)]
    pub openapi: Option<String>,
    #[serde(default = "defaults::connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default)]
    pub ejection: EjectionFile,
}

/// Passive outlier ejection: an endpoint that fails this many times in a row is left out for
/// `base_secs`, doubled on each further ejection up to `max_secs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EjectionFile {
    #[serde(default = "defaults::consecutive_failures")]
    pub consecutive_failures: u32,
    #[serde(default = "defaults::base_ejection_secs")]
    pub base_secs: f64,
    #[serde(default = "defaults::max_ejection_secs")]
    pub max_secs: f64,
}

impl Default for EjectionFile {
    fn default() -> Self {
        Self {
            consecutive_failures: defaults::consecutive_failures(),
            base_secs: defaults::base_ejection_secs(),
            max_secs: defaults::max_ejection_secs(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// Label in metrics and logs; defaults to the path as written.
    #[serde(default)]
    pub name: Option<String>,
    /// Exactly this path.
    #[serde(default)]
    pub path: Option<String>,
    /// This path and everything under it (segment-wise: `/api/orders` does not match
    /// `/api/ordersx`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Segments where `{name}` matches any one segment: `/api/orders/{id}/tracking`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Only these methods; absent means any.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    pub cluster: String,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub rate_limits: Option<Vec<String>>,
    /// Longest wait for the upstream to answer (between reads); `0` means no limit, which is
    /// what a WebSocket tunnel wants.
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    #[serde(default)]
    pub retries: Option<u8>,
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// WebSocket upgrades allowed; the token may also come in the `access_token` query
    /// parameter, since browsers cannot set headers on a WebSocket.
    #[serde(default)]
    pub websocket: bool,
}

mod defaults {
    pub fn auth() -> String {
        "optional".into()
    }
    pub fn timeout_secs() -> f64 {
        30.0
    }
    pub fn retries() -> u8 {
        1
    }
    pub fn max_body_bytes() -> u64 {
        1024 * 1024
    }
    pub fn health_interval_secs() -> u64 {
        5
    }
    pub fn connect_timeout_ms() -> u64 {
        1000
    }
    pub fn consecutive_failures() -> u32 {
        5
    }
    pub fn base_ejection_secs() -> f64 {
        10.0
    }
    pub fn max_ejection_secs() -> f64 {
        300.0
    }
    pub fn counting() -> String {
        "exact".into()
    }
}
