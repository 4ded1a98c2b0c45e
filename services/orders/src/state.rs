//! What every handler shares.

use crate::config::OrdersConfig;
use crate::db::carts::Carts;
use compliance::Rules;
use domain::Problem;
use geo::Geocoder;
use platform::db::{DbConn, DbPool};
use std::sync::Arc;

pub struct AppState {
    pub pool: DbPool,
    pub carts: Carts,
    pub rules: Arc<Rules>,
    pub geocoder: Arc<dyn Geocoder>,
    pub config: OrdersConfig,
}

impl AppState {
    /// A database connection, or 503 when the database is unreachable.
    pub async fn db(&self) -> Result<DbConn, Problem> {
        self.pool
            .get()
            .await
            .map_err(|err| Problem::unavailable(&err))
    }
}
