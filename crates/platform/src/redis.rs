//! Redis: one deadpool-redis pool per service, for carts, caches, rate limits and live data.

pub use deadpool_redis::{Connection as RedisConn, Pool as RedisPool};

/// Why the Redis pool could not be built.
#[derive(Debug, thiserror::Error)]
#[error("invalid Redis configuration: {0}")]
pub struct RedisError(#[from] deadpool_redis::CreatePoolError);

/// Builds a pool for `url`. Connections are opened lazily, so a Redis outage at start shows
/// in `/health` instead of stopping the service.
pub fn pool(url: &str, max_size: usize) -> Result<RedisPool, RedisError> {
    let mut config = deadpool_redis::Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig::new(max_size));
    Ok(config.create_pool(Some(deadpool_redis::Runtime::Tokio1))?)
}
