//! Auth's own settings (the shared ones are `platform::CommonConfig`). Every variable has a
//! local default; see `.env.example` and the service README.

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
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_days == 0 {
            return Err("token lifetimes must be positive".into());
        }
        Ok(())
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
}
