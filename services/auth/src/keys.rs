//! The signing keys: the current one signs; every key that may still have unexpired tokens
//! verifies and is published in the JWKS.
//!
//! In production the private key comes from configuration (`JWT_SIGNING_KEY`,
//! `JWT_SIGNING_KEY_ID`); starting with a new one rotates: it becomes current and the old key
//! stays published until its last tokens expire. Locally, with no key configured, one is
//! generated on first start and kept in the database, so tokens survive restarts.

use crate::config::AuthConfig;
use crate::db;
use auth_token::jwk::JwkSet;
use auth_token::{Claims, Signer, Verifier, VerifierSettings, ed25519_jwk};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("JWT_SIGNING_KEY is set but JWT_SIGNING_KEY_ID is not (or the other way round)")]
    HalfConfigured,
    #[error("no signing key configured: set JWT_SIGNING_KEY and JWT_SIGNING_KEY_ID (APP_ENV={0})")]
    Missing(String),
    #[error("invalid signing key: {0}")]
    Invalid(String),
    #[error("key id {0} is already registered with a different public key; use a new key id")]
    KidReused(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// The key that signs, and the public keys that verify.
pub struct KeyRing {
    signer: Signer,
    jwks: JwkSet,
}

impl KeyRing {
    /// Loads (or, locally, creates) the keys, recording the current one in `signing_keys`.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        config: &AuthConfig,
        app_env: &str,
    ) -> Result<Self, KeyError> {
        let signer = conn
            .transaction(async |conn| {
                // One replica at a time, so two fresh starts do not each generate a key.
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query(
                        "SELECT pg_advisory_xact_lock(hashtext('auth.signing_keys'))",
                    ),
                    conn,
                )
                .await?;
                let signer = match (&config.jwt_signing_key, &config.jwt_signing_key_id) {
                    (Some(pem), Some(kid)) => {
                        let signer = Signer::from_pem(kid, pem)
                            .map_err(|e| KeyError::Invalid(e.to_string()))?;
                        // A key id names one key forever: verifiers cache keys by id.
                        if db::keys::public_x(conn, kid)
                            .await?
                            .is_some_and(|x| x != signer.public_x())
                        {
                            return Err(KeyError::KidReused(kid.clone()));
                        }
                        db::keys::make_current(conn, kid, &signer.public_x(), None).await?;
                        signer
                    }
                    (Some(_), None) | (None, Some(_)) => return Err(KeyError::HalfConfigured),
                    (None, None) if !matches!(app_env, "development" | "test") => {
                        return Err(KeyError::Missing(app_env.into()));
                    }
                    (None, None) => match db::keys::current_local(conn).await? {
                        Some(row) => Signer::from_pem(
                            &row.kid,
                            row.private_pem.as_deref().unwrap_or_default(),
                        )
                        .map_err(|e| KeyError::Invalid(e.to_string()))?,
                        None => {
                            let kid = format!("local-{}", Utc::now().format("%Y%m%d%H%M%S"));
                            let signer = Signer::generate(&kid)
                                .map_err(|e| KeyError::Invalid(e.to_string()))?;
                            let pem = signer
                                .to_pem()
                                .map_err(|e| KeyError::Invalid(e.to_string()))?;
                            db::keys::make_current(conn, &kid, &signer.public_x(), Some(&pem))
                                .await?;
                            tracing::info!(%kid, "generated a local signing key");
                            signer
                        }
                    },
                };
                Ok::<_, KeyError>(signer)
            })
            .await?;

        // A retired key verifies until every token it signed has expired.
        let retired_since = Utc::now()
            - chrono::Duration::from_std(config.access_ttl()).unwrap_or_default()
            - chrono::Duration::minutes(5);
        let rows = db::keys::verifying(conn, retired_since).await?;
        let jwks = JwkSet {
            keys: rows
                .iter()
                .map(|row| ed25519_jwk(&row.kid, &row.public_x))
                .collect(),
        };
        Ok(Self { signer, jwks })
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, domain::Problem> {
        self.signer
            .sign(claims)
            .map_err(|err| domain::Problem::internal(&err))
    }

    /// The document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Checks tokens against every published key: auth verifies its own tokens locally.
    pub fn verifier(&self, config: &AuthConfig) -> Verifier {
        let settings = VerifierSettings::new(&config.jwt_issuer, &config.jwt_audience);
        Verifier::from_jwk_set(&settings, &self.jwks)
    }
}
