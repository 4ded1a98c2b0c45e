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
    /// Most payment methods a customer may keep: a thief testing stolen cards saves each
    /// one, and every save is a card checked at the provider.
    #[serde(default = "defaults::max_methods")]
    pub payments_max_methods: u32,
    /// Most payment methods a customer may try to save per hour, accepted or refused by the
    /// provider (counted in Redis).
    #[serde(default = "defaults::method_adds_per_hour")]
    pub payments_method_adds_per_hour: u32,
    /// Put before every Redis key (several deployments, or tests, sharing one Redis).
    #[serde(default)]
    pub payments_redis_prefix: String,
}

impl PaymentsConfig {
    /// Refuses settings that are only safe on a developer machine (`platform::config`):
    /// the sandbox (no real money) and the built-in webhook secret (published here, so
    /// anyone could sign events with it).
    pub fn check_for(&self, app_env: &str) -> Result<(), String> {
        let local = platform::config::is_local(app_env);
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
        if self.payments_max_methods == 0 || self.payments_method_adds_per_hour == 0 {
            return Err(
                "PAYMENTS_MAX_METHODS and PAYMENTS_METHOD_ADDS_PER_HOUR must be at least 1".into(),
            );
        }
        platform::config::require_set(
            app_env,
            "STRIPE_WEBHOOK_SECRET",
            &self.stripe_webhook_secret,
            &defaults::webhook_secret(),
        )
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
    pub const fn max_methods() -> u32 {
        10
    }
    pub const fn method_adds_per_hour() -> u32 {
        5
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::CommonConfig;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// What `main` does: the shared settings and payments' own from the same variables.
    fn check(pairs: &[(&str, &str)]) -> Result<(), String> {
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars(pairs)).unwrap();
        let config: PaymentsConfig = platform::config::load_from(vars(pairs)).unwrap();
        config.check_for(&common.app_env)
    }

    const STRIPE: [(&str, &str); 2] = [
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", "sk_live_x"),
    ];

    #[test]
    fn with_nothing_set_the_sandbox_is_refused() {
        let err = check(&[]).unwrap_err();
        assert!(err.contains("PAYMENT_PROVIDER=sandbox"), "{err}");
        let err = check(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.contains("PAYMENT_PROVIDER=sandbox"), "{err}");
    }

    #[test]
    fn with_nothing_set_the_built_in_webhook_secret_is_refused() {
        let err = check(&STRIPE).unwrap_err();
        assert!(err.contains("STRIPE_WEBHOOK_SECRET"), "{err}");
        let mut empty = STRIPE.to_vec();
        empty.push(("STRIPE_WEBHOOK_SECRET", ""));
        assert!(check(&empty).unwrap_err().contains("STRIPE_WEBHOOK_SECRET"));
        let mut set = STRIPE.to_vec();
        set.push(("STRIPE_WEBHOOK_SECRET", "whsec_from_the_dashboard"));
        assert_eq!(check(&set), Ok(()));
    }

    #[test]
    fn saved_methods_are_bounded_by_default() {
        let config: PaymentsConfig = platform::config::load_from(vars(&[])).unwrap();
        assert_eq!(
            (
                config.payments_max_methods,
                config.payments_method_adds_per_hour
            ),
            (10, 5)
        );
        let err = check(&[("APP_ENV", "test"), ("PAYMENTS_MAX_METHODS", "0")]).unwrap_err();
        assert!(err.contains("PAYMENTS_MAX_METHODS"), "{err}");
    }

    #[test]
    fn development_and_tests_take_the_defaults() {
        assert_eq!(check(&[("APP_ENV", "development")]), Ok(()));
        assert_eq!(check(&[("APP_ENV", "test")]), Ok(()));
        assert!(check(&[("APP_ENV", "staging")]).is_err());
    }
}
