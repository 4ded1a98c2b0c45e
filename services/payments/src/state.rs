//! What every handler shares.

use crate::methods::MethodLimits;
use crate::provider::PaymentProvider;
use crate::provider::sandbox::SandboxProvider;
use domain::Problem;
use platform::db::{DbConn, DbPool};
use std::sync::Arc;

pub struct AppState {
    pub pool: DbPool,
    pub provider: Arc<dyn PaymentProvider>,
    /// The same provider when it is the sandbox (its customer-action endpoint).
    pub sandbox: Option<Arc<SandboxProvider>>,
    pub webhook_secret: String,
    /// How many payment methods a customer may keep and add.
    pub method_limits: MethodLimits,
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
