//! Orders' own settings (the shared ones are `platform::CommonConfig`). Every variable has a
//! local default; see `.env.example` and the service README.

use serde::Deserialize;
use std::time::Duration;

pub const SERVICE: &str = "orders";
pub const DEFAULT_PORT: u16 = 8083;

#[derive(Debug, Clone, Deserialize)]
pub struct OrdersConfig {
    /// Claims `iss` and `aud` every access token must carry.
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    /// Auth's key set, to verify tokens.
    #[serde(default = "defaults::jwks_url")]
    pub jwks_url: String,
    /// Jurisdictions this deployment delivers in (codes from the rules data), e.g. `TX`.
    #[serde(default = "defaults::jurisdictions")]
    pub compliance_jurisdictions: String,
    /// A JSON file of jurisdictions replacing the embedded rules (empty: embedded TX and CA).
    #[serde(default)]
    pub compliance_rules_file: String,
    /// `zip` (bundled ZIP centroids) or `google` (needs `GOOGLE_MAPS_API_KEY`).
    #[serde(default = "defaults::geocoder")]
    pub geocoder: String,
    #[serde(default)]
    pub google_maps_api_key: String,
    /// Most packages of one product in a cart.
    #[serde(default = "defaults::cart_max_quantity")]
    pub cart_max_quantity: u32,
    /// Most distinct products in a cart.
    #[serde(default = "defaults::cart_max_lines")]
    pub cart_max_lines: u32,
    /// A cart untouched this long is dropped (the guide: 7 days).
    #[serde(default = "defaults::cart_ttl")]
    pub cart_ttl_secs: u64,
    /// Put before every Redis key (several deployments, or tests, sharing one Redis).
    #[serde(default)]
    pub orders_redis_prefix: String,
    /// An order still `pending` this long after checkout is cancelled (`pending_timeout`).
    #[serde(default = "defaults::pending_timeout")]
    pub orders_pending_timeout_secs: u64,
    /// A `payment_failed` order is closed (cancelled, stock released) after this long.
    #[serde(default = "defaults::payment_failed_close")]
    pub orders_payment_failed_close_secs: u64,
    /// How often the timers (pending timeout, track-and-trace retries, gauges) run.
    #[serde(default = "defaults::sweep_interval")]
    pub orders_sweep_interval_secs: u64,
    /// `table` (receipts kept for admins) or `metrc` (Metrc's sales-receipt API).
    #[serde(default = "defaults::track_and_trace")]
    pub track_and_trace: String,
    #[serde(default = "defaults::metrc_url")]
    pub metrc_api_url: String,
    #[serde(default)]
    pub metrc_vendor_key: String,
    #[serde(default)]
    pub metrc_user_key: String,
    /// Available packages at or below which a product is in the report's low-stock list.
    #[serde(default = "defaults::low_stock")]
    pub orders_low_stock_threshold: i64,
}

impl OrdersConfig {
    pub fn pending_timeout(&self) -> Duration {
        Duration::from_secs(self.orders_pending_timeout_secs)
    }

    pub fn payment_failed_close(&self) -> Duration {
        Duration::from_secs(self.orders_payment_failed_close_secs)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.orders_sweep_interval_secs.max(1))
    }

    pub fn jurisdiction_codes(&self) -> Vec<&str> {
        self.compliance_jurisdictions
            .split(',')
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .collect()
    }

    /// Refuses settings that cannot work.
    pub fn check(&self) -> Result<(), String> {
        match self.geocoder.as_str() {
            "zip" => {}
            "google" if self.google_maps_api_key.is_empty() => {
                return Err("GOOGLE_MAPS_API_KEY is required with GEOCODER=google".into());
            }
            "google" => {}
            other => return Err(format!("GEOCODER must be zip or google, not `{other}`")),
        }
        match self.track_and_trace.as_str() {
            "table" => {}
            "metrc" if self.metrc_vendor_key.is_empty() || self.metrc_user_key.is_empty() => {
                return Err(
                    "METRC_VENDOR_KEY and METRC_USER_KEY are required with TRACK_AND_TRACE=metrc"
                        .into(),
                );
            }
            "metrc" => {}
            other => {
                return Err(format!(
                    "TRACK_AND_TRACE must be table or metrc, not `{other}`"
                ));
            }
        }
        if self.cart_max_quantity == 0 || self.cart_max_lines == 0 {
            return Err("CART_MAX_QUANTITY and CART_MAX_LINES must be at least 1".into());
        }
        Ok(())
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
    pub fn jurisdictions() -> String {
        "TX".into()
    }
    pub fn geocoder() -> String {
        "zip".into()
    }
    pub const fn cart_max_quantity() -> u32 {
        10
    }
    pub const fn cart_max_lines() -> u32 {
        50
    }
    pub const fn cart_ttl() -> u64 {
        7 * 24 * 3600
    }
    pub const fn pending_timeout() -> u64 {
        15 * 60
    }
    pub const fn payment_failed_close() -> u64 {
        5 * 60
    }
    pub const fn sweep_interval() -> u64 {
        15
    }
    pub fn track_and_trace() -> String {
        "table".into()
    }
    pub fn metrc_url() -> String {
        "https://api-tx.metrc.com".into()
    }
    pub const fn low_stock() -> i64 {
        10
    }
}
