//! What every handler shares.

use crate::config::AuthConfig;
use crate::documents::{DocumentStore, LinkSigner};
use crate::keys::KeyRing;
use crate::passwords::Passwords;
use domain::Problem;
use events::sealed::SealingKey;
use platform::db::{DbConn, DbPool};
use platform::redis::{RedisConn, RedisPool};

pub struct AppState {
    pub pool: DbPool,
    pub redis: RedisPool,
    pub keys: KeyRing,
    pub config: AuthConfig,
    pub documents: DocumentStore,
    pub links: LinkSigner,
    /// Every password hash of a request goes through it (bounded concurrency).
    pub passwords: Passwords,
    /// Notification's key: password-reset tokens are sealed to it.
    pub seal_key: SealingKey,
}

impl AppState {
    /// A database connection, or 503 when the database is unreachable.
    pub async fn db(&self) -> Result<DbConn, Problem> {
        self.pool
            .get()
            .await
            .map_err(|err| Problem::unavailable(&err))
    }

    /// A Redis connection, or 503.
    pub async fn redis(&self) -> Result<RedisConn, Problem> {
        self.redis
            .get()
            .await
            .map_err(|err| Problem::unavailable(&err))
    }
}
