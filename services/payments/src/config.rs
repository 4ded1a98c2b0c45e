//! Payments' own settings (the shared ones are `platform::CommonConfig`). Every variable has
//! a local default; see `.env.example` and the service README.

use serde::Deserialize;

pub const SERVICE: &str = "payments";
pub const DEFAULT_PORT: u16 = 8084;

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentsConfig {
    /// Claims `iss` and `aud` every access token must carry.
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    /// Auth's key set, to verify tokens.
    #[serde(default = "defaults::jwks_url")]
    pub jwks_url: String,
    /// `sandbox` (embedded, Stripe test-mode semantics) or `stripe`.
    #[serde(default = "defaults::provider")]
    pub payment_provider: String,
    /// Verifies `Stripe-Signature` on `/webhooks/stripe`; the sandbox signs with it too.
    #[serde(default = "defaults::webhook_secret")]
    pub stripe_webhook_secret: String,
    /// Stripe's secret key (`sk_live_...` / `sk_test_...`); required with `stripe`.
    #[serde(default)]
    pub stripe_secret_key: String,
    /// Stripe's API base URL; empty for Stripe itself (tests point it at a stub).
    #[serde(default)]
    pub stripe_api_base: String,
    /// Where the sandbox delivers its webhook events (this service's own endpoint).
    #[serde(default = "defaults::webhook_url")]
    pub payments_webhook_url: String,
}

impl PaymentsConfig {
    /// Refuses settings that are only safe on a developer machine.
    pub fn check_for(&self, app_env: &str) -> Result<(), String> {
        let local = matches!(app_env, "development" | "test");
        match self.payment_provider.as_str() {
            "sandbox" if !local => {
                return Err(format!(
                    "PAYMENT_PROVIDER=sandbox takes no real money; use stripe outside development (APP_ENV={app_env})"
                ));
            }
            "stripe" if self.stripe_secret_key.is_empty() => {
                return Err("STRIPE_SECRET_KEY is required with PAYMENT_PROVIDER=stripe".into());
            }
            "sandbox" | "stripe" => {}
            other => {
                return Err(format!(
                    "PAYMENT_PROVIDER must be sandbox or stripe, not `{other}`"
                ));
            }
        }
        if !local && self.stripe_webhook_secret == defaults::webhook_secret() {
            return Err(format!(
                "STRIPE_WEBHOOK_SECRET must be set outside development (APP_ENV={app_env})"
            ));
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
    pub fn provider() -> String {
        "sandbox".into()
    }
    pub fn webhook_secret() -> String {
        "whsec_local_sandbox_only".into()
    }
    pub fn webhook_url() -> String {
        "http://127.0.0.1:8084/webhooks/stripe".into()
    }
}
