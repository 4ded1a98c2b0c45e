//! What every handler shares.

use crate::cache::ProductCache;
use crate::config::CatalogConfig;
use domain::Problem;
use platform::db::{DbConn, DbPool};
use platform::objects::Objects;

pub struct AppState {
    pub pool: DbPool,
    pub cache: ProductCache,
    pub images: Objects,
    pub config: CatalogConfig,
}

impl AppState {
    /// A database connection, or 503 when the database is unreachable.
    pub async fn db(&self) -> Result<DbConn, Problem> {
        self.pool
            .get()
            .await
            .map_err(|err| Problem::unavailable(&err))
    }

    pub fn public_url(&self) -> &str {
        &self.config.catalog_public_url
    }
}
