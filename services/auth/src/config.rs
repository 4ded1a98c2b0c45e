//! Auth's own settings (the shared ones are `platform::CommonConfig`). Every variable has a
//! local default; see `.env.example` and the service README.

use events::sealed::SealingKey;
use serde::Deserialize;
use std::time::Duration;

pub const SERVICE: &str = "auth";
pub const DEFAULT_PORT: u16 = 8081;

#[derive(Debug, Clone, Deserialize)]
pub struct AuthConfig {
    /// Claims `iss` and `aud` of every access token.
    #[serde(default = "defaults::issuer")]
    pub jwt_issuer: String,
    #[serde(default = "defaults::audience")]
    pub jwt_audience: String,
    #[serde(default = "defaults::access_ttl")]
    pub access_token_ttl_secs: u64,
    #[serde(default = "defaults::refresh_ttl")]
    pub refresh_token_ttl_days: u64,
    /// The Ed25519 private key (PKCS#8 PEM) that signs tokens, and its key id. Required in
    /// production; locally a key is generated on first start and kept in the database.
    #[serde(default)]
    pub jwt_signing_key: Option<String>,
    #[serde(default)]
    pub jwt_signing_key_id: Option<String>,
    /// The admin created at start when there is none.
    #[serde(default)]
    pub fs_admin_email: Option<String>,
    #[serde(default)]
    pub fs_admin_password: Option<String>,
    /// Where ID documents are stored: `file://<dir>` or `s3://<bucket>` (credentials and
    /// region from the standard `AWS_*` variables).
    #[serde(default = "defaults::object_store_url")]
    pub object_store_url: String,
    /// Signs the short-lived links admins use to view a document.
    #[serde(default = "defaults::document_link_secret")]
    pub document_link_secret: String,
    #[serde(default = "defaults::document_link_ttl")]
    pub document_link_ttl_secs: u64,
    /// HMAC secret of the ID-verification provider's webhook; empty disables the webhook.
    #[serde(default)]
    pub id_verification_webhook_secret: String,
    /// Public base URL of this service as clients reach it (for document links).
    #[serde(default = "defaults::public_url")]
    pub auth_public_url: String,
    /// Memory (MiB) password hashes may hold at once; each holds 19 MiB, so the default 128
    /// lets 6 run together, well inside the pod's 512 MiB limit.
    #[serde(default = "defaults::password_hash_memory_mib")]
    pub password_hash_memory_mib: u64,
    /// How many password hashes may run at once; 0 (the default) derives it from
    /// `password_hash_memory_mib`.
    #[serde(default)]
    pub password_hash_concurrency: usize,
    /// How long a login, registration or reset waits for a hashing slot before it is answered
    /// 503 with `Retry-After`.
    #[serde(default = "defaults::password_hash_wait_ms")]
    pub password_hash_wait_ms: u64,
    /// Notification's X25519 public key (standard base64): the password-reset token is sealed
    /// to it, so only notification can read it (`events::sealed`). Defaults to the published
    /// development key, which production refuses.
    #[serde(default = "defaults::notification_seal_public_key")]
    pub notification_seal_public_key: String,
    /// Password-reset emails one address may be sent per hour; more requests are answered
    /// the same (202) but send nothing.
    #[serde(default = "defaults::password_resets_per_hour")]
    pub password_resets_per_hour: u32,
}

impl AuthConfig {
    /// Refuses settings that are only safe on a developer machine.
    pub fn check_for(&self, app_env: &str) -> Result<(), String> {
        // Built-in secrets are in this repository: outside development, each must be set.
        platform::config::require_set(
            app_env,
            "DOCUMENT_LINK_SECRET",
            &self.document_link_secret,
            &defaults::document_link_secret(),
        )?;
        platform::config::require_set(
            app_env,
            "NOTIFICATION_SEAL_PUBLIC_KEY",
            &self.notification_seal_public_key,
            &defaults::notification_seal_public_key(),
        )?;
        // The same key spelled another way (spaces, a line break) is still the published one.
        let seal_key = self.notification_seal_key()?;
        if !platform::config::is_local(app_env) && seal_key.is_development() {
            return Err(format!(
                "NOTIFICATION_SEAL_PUBLIC_KEY must be notification's own key, not the development \
                 one (APP_ENV={app_env})"
            ));
        }
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_days == 0 {
            return Err("token lifetimes must be positive".into());
        }
        if self.password_hash_concurrency() == 0 {
            return Err(format!(
                "PASSWORD_HASH_MEMORY_MIB must be at least {} (one hash) unless \
                 PASSWORD_HASH_CONCURRENCY is set",
                crate::passwords::KIB_PER_HASH.div_ceil(1024)
            ));
        }
        Ok(())
    }

    /// How many password hashes may run at once: as configured, or as many as the memory
    /// budget holds.
    pub fn password_hash_concurrency(&self) -> usize {
        match self.password_hash_concurrency {
            0 => crate::passwords::concurrency_for_budget(self.password_hash_memory_mib),
            n => n,
        }
    }

    pub fn password_hash_wait(&self) -> Duration {
        Duration::from_millis(self.password_hash_wait_ms)
    }

    /// The key password-reset tokens are sealed to.
    pub fn notification_seal_key(&self) -> Result<SealingKey, String> {
        SealingKey::parse(&self.notification_seal_public_key)
            .map_err(|err| format!("NOTIFICATION_SEAL_PUBLIC_KEY: {err}"))
    }

    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_days * 24 * 3600)
    }
}

mod defaults {
    pub fn issuer() -> String {
        "faded-skies-auth".into()
    }
    pub fn audience() -> String {
        "faded-skies".into()
    }
    pub fn access_ttl() -> u64 {
        900
    }
    pub fn refresh_ttl() -> u64 {
        30
    }
    pub fn object_store_url() -> String {
        "file://./var/objects".into()
    }
    pub fn document_link_secret() -> String {
        "local-document-link-secret-change-me".into()
    }
    pub fn document_link_ttl() -> u64 {
        300
    }
    pub fn public_url() -> String {
        "http://127.0.0.1:8080".into()
    }
    pub fn password_hash_memory_mib() -> u64 {
        128
    }
    pub fn password_hash_wait_ms() -> u64 {
        2000
    }
    pub fn notification_seal_public_key() -> String {
        events::sealed::DEV_PUBLIC_KEY.into()
    }
    pub fn password_resets_per_hour() -> u32 {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::CommonConfig;

    fn check(pairs: &[(&str, &str)]) -> Result<(), String> {
        let vars: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: AuthConfig = platform::config::load_from(vars).unwrap();
        config.check_for(&common.app_env)
    }

    #[test]
    fn with_nothing_set_the_built_in_document_link_secret_is_refused() {
        for pairs in [
            &[][..],
            &[("APP_ENV", "production")],
            &[("APP_ENV", "staging")],
        ] {
            let err = check(pairs).unwrap_err();
            assert!(err.contains("DOCUMENT_LINK_SECRET"), "{pairs:?}: {err}");
        }
        let blank = check(&[("DOCUMENT_LINK_SECRET", " ")]).unwrap_err();
        assert!(blank.contains("DOCUMENT_LINK_SECRET"), "{blank}");
        // Set, it is no longer what is refused (other production checks may still be).
        let set = check(&[("DOCUMENT_LINK_SECRET", "a-long-random-secret")]);
        assert!(
            set.as_ref()
                .err()
                .is_none_or(|err| !err.contains("DOCUMENT_LINK_SECRET")),
            "{set:?}"
        );
        assert_eq!(check(&[("APP_ENV", "development")]), Ok(()));
        assert_eq!(check(&[("APP_ENV", "test")]), Ok(()));
    }

    /// The production checks pass with every other secret set, so only the one under test is
    /// what is refused.
    fn config(vars: &[(&str, &str)]) -> AuthConfig {
        let mut all = vec![("DOCUMENT_LINK_SECRET", "a-long-random-secret")];
        all.extend_from_slice(vars);
        platform::config::load_from(all.iter().map(|(k, v)| ((*k).into(), (*v).into()))).unwrap()
    }

    #[test]
    fn production_refuses_the_development_seal_key_in_any_spelling() {
        use events::sealed::{DEV_PUBLIC_KEY, OpeningKey};
        let err = config(&[]).check_for("production").unwrap_err();
        assert!(err.contains("NOTIFICATION_SEAL_PUBLIC_KEY"), "{err}");
        let respelled = format!(" {DEV_PUBLIC_KEY}\n");
        let respelled = config(&[("NOTIFICATION_SEAL_PUBLIC_KEY", &respelled)]);
        let err = respelled.check_for("production").unwrap_err();
        assert!(err.contains("NOTIFICATION_SEAL_PUBLIC_KEY"), "{err}");
        let own = OpeningKey::generate().sealing_key().to_base64();
        let own = config(&[("NOTIFICATION_SEAL_PUBLIC_KEY", &own)]);
        assert_eq!(own.check_for("production"), Ok(()));
        assert_eq!(config(&[]).check_for("development"), Ok(()));
        let broken = config(&[("NOTIFICATION_SEAL_PUBLIC_KEY", "not a key")]);
        assert!(broken.check_for("development").is_err());
    }

    #[test]
    fn the_hashing_budget_sets_the_concurrency_unless_it_is_given() {
        assert_eq!(config(&[]).password_hash_concurrency(), 6);
        let small = config(&[("PASSWORD_HASH_MEMORY_MIB", "40")]);
        assert_eq!(small.password_hash_concurrency(), 2);
        let given = config(&[
            ("PASSWORD_HASH_MEMORY_MIB", "40"),
            ("PASSWORD_HASH_CONCURRENCY", "3"),
        ]);
        assert_eq!(given.password_hash_concurrency(), 3);
        let too_small = config(&[("PASSWORD_HASH_MEMORY_MIB", "10")]);
        assert!(too_small.check_for("development").is_err());
    }
}
