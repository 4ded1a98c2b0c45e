//! PostgreSQL: a diesel-async connection pool whose connections live in the service's own
//! schema, and the embedded migrations run into that schema at start.

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{BuildError, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

/// The pool every service uses.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection checked out of [`DbPool`].
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Why the database could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid schema name `{0}`: use lower-case letters, digits and underscores")]
    InvalidSchema(String),
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(#[from] ConnectionError),
    #[error("could not build the connection pool: {0}")]
    Pool(#[from] BuildError),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// A schema name safe to splice into `SET search_path` and `CREATE SCHEMA`: identifiers
/// cannot be bound as parameters, so this is the only guard.
fn checked_schema(schema: &str) -> Result<&str, DbError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(schema)
    } else {
        Err(DbError::InvalidSchema(schema.to_owned()))
    }
}

/// Opens one connection whose `search_path` is `schema` (then `public`, for extensions).
pub async fn connect(url: &str, schema: &str) -> Result<AsyncPgConnection, DbError> {
    let schema = checked_schema(schema)?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query(format!("SET search_path TO {schema}, public"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Builds a pool whose connections all use `schema`. Connections are opened lazily, so this
/// succeeds while the database is down and `/health` reports it.
pub fn pool(url: &str, schema: &str, max_size: usize) -> Result<DbPool, DbError> {
    let schema = checked_schema(schema)?.to_owned();
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |url| {
        let schema = schema.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            diesel::sql_query(format!("SET search_path TO {schema}, public"))
                .execute(&mut conn)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Ok(Pool::builder(manager).max_size(max_size).build()?)
}

/// Creates `schema` if needed and runs every pending migration of each set into it, in
/// order. The migration bookkeeping table lives in the same schema, so services never share
/// one.
///
/// diesel-async's harness blocks its thread (`block_in_place`): call this from tokio's
/// multi-thread runtime, before the HTTP server starts.
pub async fn migrate(url: &str, schema: &str, sets: &[&EmbeddedMigrations]) -> Result<(), DbError> {
    let schema = checked_schema(schema)?;
    let mut conn = AsyncPgConnection::establish(url).await?;
    // Two replicas starting together must not race on the same migrations.
    diesel::sql_query("SELECT pg_advisory_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(format!("migrate:{schema}"))
        .execute(&mut conn)
        .await?;
    diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await?;
    diesel::sql_query(format!("SET search_path TO {schema}, public"))
        .execute(&mut conn)
        .await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    for set in sets {
        harness
            .run_pending_migrations(Borrowed(set))
            .map_err(|e| DbError::Migration(e.to_string()))?;
    }
    let mut conn = harness.into_inner();
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(format!("migrate:{schema}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Lets a borrowed, `'static` migration set be run: `EmbeddedMigrations` is neither `Copy`
/// nor `Clone`, and the harness takes its source by value.
struct Borrowed<'a>(&'a EmbeddedMigrations);

impl diesel::migration::MigrationSource<diesel::pg::Pg> for Borrowed<'_> {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>>> {
        diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        assert!(checked_schema("auth").is_ok());
        assert!(checked_schema("test_1a2b").is_ok());
        for bad in [
            "",
            "Auth",
            "1auth",
            "auth; drop table x",
            "a-b",
            &"a".repeat(64),
        ] {
            assert!(checked_schema(bad).is_err(), "{bad}");
        }
    }
}
