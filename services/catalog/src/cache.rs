//! The product-list cache in Redis (the guide's `products:featured` and
//! `products:category:{categoryId}` keys; a category page is also reachable by slug).
//!
//! Each key is a hash of pages (field = generation + the request's canonical parameters).
//! A change bumps the scope's generation and drops the hash, after its transaction commits:
//! a reader that loaded the old rows just before can only store them under the old
//! generation, which no reader asks for any more, so a read after a write never sees old data.
//! Redis failures are logged and counted; the list is then served from the database.

use crate::product_filter::{CacheScope, CategoryRef};
use domain::CategoryId;
use platform::redis::RedisPool;
use std::future::Future;
use std::time::Duration;

const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
local page = redis.call('HGET', KEYS[2], generation .. '|' .. ARGV[1])
return { generation, page }
";

const WRITE: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
if generation ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], generation .. '|' .. ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
";

/// Where an answer came from, as the `X-Cache` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From the cache.
    Hit,
    /// From the database, and stored in the cache.
    Miss,
    /// From the database: this request is never cached (or the cache is off).
    Bypass,
}

impl Source {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

/// A cache lookup: the page if cached, and the generation to store a fresh one under.
pub struct Lookup {
    pub page: Option<String>,
    generation: Option<String>,
}

#[derive(Clone)]
pub struct ProductCache {
    redis: RedisPool,
    /// Put before every key (tests give each app its own).
    prefix: String,
    enabled: bool,
    ttl: Duration,
    read: redis::Script,
    write: redis::Script,
}

/// Hash key of a scope.
pub fn key(scope: &CacheScope) -> String {
    match scope {
        CacheScope::Featured => "products:featured".into(),
        CacheScope::Category(CategoryRef::Id(id)) => format!("products:category:{id}"),
        CacheScope::Category(CategoryRef::Slug(slug)) => format!("products:category:{slug}"),
    }
}

fn generation_key(key: &str) -> String {
    format!("catalog:cache-generation:{key}")
}

fn scope_label(scope: &CacheScope) -> &'static str {
    match scope {
        CacheScope::Featured => "featured",
        CacheScope::Category(_) => "category",
    }
}

/// The scopes to drop when products of these categories change: the featured list and
/// each category's pages by id and by slug.
pub fn scopes_for(categories: &[(CategoryId, String)]) -> Vec<CacheScope> {
    let mut scopes = vec![CacheScope::Featured];
    for (id, slug) in categories {
        scopes.push(CacheScope::Category(CategoryRef::Id(*id)));
        scopes.push(CacheScope::Category(CategoryRef::Slug(slug.clone())));
    }
    scopes
}

impl ProductCache {
    pub fn new(redis: RedisPool, prefix: &str, enabled: bool, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            enabled,
            ttl,
            read: redis::Script::new(READ),
            write: redis::Script::new(WRITE),
        }
    }

    fn key(&self, scope: &CacheScope) -> String {
        format!("{}{}", self.prefix, key(scope))
    }

    /// The page for `field` in `scope` (`None`: a request never cached) from the cache, or
    /// else from `load`, storing what it loaded unless the scope changed meanwhile.
    pub async fn read_through<E, F, Fut>(
        &self,
        scope: Option<CacheScope>,
        field: &str,
        load: F,
    ) -> Result<(String, Source), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let lookup = match &scope {
            Some(scope) => self.get(scope, field).await,
            None => None,
        };
        if let Some(page) = lookup.as_ref().and_then(|lookup| lookup.page.clone()) {
            return Ok((page, Source::Hit));
        }
        let page = load().await?;
        match (&scope, &lookup) {
            (Some(scope), Some(lookup)) => {
                self.put(scope, lookup, field, &page).await;
                Ok((page, Source::Miss))
            }
            _ => Ok((page, Source::Bypass)),
        }
    }

    /// The cached page for `field` in `scope`; `None` when the cache is off.
    pub async fn get(&self, scope: &CacheScope, field: &str) -> Option<Lookup> {
        if !self.enabled {
            return None;
        }
        let key = self.key(scope);
        let result: Result<(String, Option<String>), _> = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            self.read
                .key(generation_key(&key))
                .key(&key)
                .arg(field)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        let label = scope_label(scope);
        match result {
            Ok((generation, page)) => {
                let outcome = if page.is_some() { "hit" } else { "miss" };
                metrics::counter!("catalog_cache_requests_total", "scope" => label, "result" => outcome)
                    .increment(1);
                Some(Lookup {
                    page,
                    generation: Some(generation),
                })
            }
            Err(err) => {
                tracing::warn!(error = %err, "product cache unavailable; reading the database");
                metrics::counter!("catalog_cache_requests_total", "scope" => label, "result" => "error")
                    .increment(1);
                Some(Lookup {
                    page: None,
                    generation: None,
                })
            }
        }
    }

    /// Stores a page loaded after `lookup`, unless the scope changed since.
    pub async fn put(&self, scope: &CacheScope, lookup: &Lookup, field: &str, page: &str) {
        let Some(generation) = &lookup.generation else {
            return;
        };
        let key = self.key(scope);
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let result: Result<i64, String> = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            self.write
                .key(generation_key(&key))
                .key(&key)
                .arg(generation)
                .arg(field)
                .arg(page)
                .arg(ttl_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not store a product page in the cache");
        }
    }

    /// Drops every page of `scopes`. Call after the change committed.
    pub async fn invalidate(&self, scopes: &[CacheScope]) {
        if scopes.is_empty() {
            return;
        }
        let result: Result<(), String> = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            let mut pipe = redis::pipe();
            for scope in scopes {
                let key = self.key(scope);
                pipe.incr(generation_key(&key), 1).ignore();
                pipe.del(&key).ignore();
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(err) = result {
            // The generation could not move: pages expire with their TTL instead.
            tracing::error!(error = %err, "could not invalidate the product cache");
            metrics::counter!("catalog_cache_invalidation_failures_total").increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_guide() {
        let id = CategoryId::from(uuid::Uuid::nil());
        assert_eq!(key(&CacheScope::Featured), "products:featured");
        assert_eq!(
            key(&CacheScope::Category(CategoryRef::Id(id))),
            format!("products:category:{id}")
        );
        let scopes = scopes_for(&[(id, "flower".into())]);
        assert_eq!(scopes.len(), 3);
    }
}
