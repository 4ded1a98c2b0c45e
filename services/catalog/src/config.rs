//! Catalog's own settings (the shared ones are `platform::CommonConfig`). Every variable has a
//! local default; see `.env.example` and the service README.

use serde::Deserialize;
use std::time::Duration;

pub const SERVICE: &str = "catalog";
pub const DEFAULT_PORT: u16 = 8082;

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogConfig {
    /// Claims `iss` and `aud` every access token must carry.
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    /// Auth's key set, to verify tokens.
    #[serde(default = "defaults::jwks_url")]
    pub jwks_url: String,
    /// Where product images are stored (the object store auth keeps ID documents in, under
    /// another prefix): `file://<dir>` or `s3://<bucket>` (credentials and region from the
    /// standard `AWS_*` variables).
    #[serde(default = "defaults::object_store_url")]
    pub object_store_url: String,
    /// Base of the stable image URLs given to clients (the gateway's public address).
    #[serde(default = "defaults::public_url")]
    pub catalog_public_url: String,
    /// How long a cached product page lives at most; every change invalidates it sooner.
    #[serde(default = "defaults::cache_ttl")]
    pub catalog_cache_ttl_secs: u64,
    /// Put before every cache key (several deployments sharing one Redis).
    #[serde(default)]
    pub catalog_cache_prefix: String,
    /// Set to false to serve every list from the database (benchmarks compare both).
    #[serde(default = "defaults::cache_enabled")]
    pub catalog_cache_enabled: bool,
    /// Available packages at or below which a product is in the low-stock report.
    #[serde(default = "defaults::low_stock")]
    pub catalog_low_stock_threshold: i32,
    /// Load the demo catalog at start (idempotent; `make run` turns it on).
    #[serde(default)]
    pub catalog_seed_demo: bool,
}

impl CatalogConfig {
    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.catalog_cache_ttl_secs.max(1))
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
    pub fn object_store_url() -> String {
        "file://./var/objects".into()
    }
    pub fn public_url() -> String {
        "http://127.0.0.1:8080".into()
    }
    pub fn cache_ttl() -> u64 {
        300
    }
    pub fn cache_enabled() -> bool {
        true
    }
    pub fn low_stock() -> i32 {
        10
    }
}
