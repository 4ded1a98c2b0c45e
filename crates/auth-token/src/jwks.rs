//! Auth's public keys fetched from its JWKS endpoint: cached, refreshed when they grow old or
//! when a token names a key we have not seen (auth rotated), but at most once per
//! `min_refresh_interval`, so a flood of tokens with made-up `kid`s cannot hammer auth.

use crate::TokenError;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// The largest JWKS document read. Auth's holds a few keys (well under 2 KiB); a bigger answer
/// is someone else's (a misrouted URL, a hostile endpoint) and is not buffered whole.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct Cache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

/// A JWKS endpoint and the keys last read from it.
pub struct JwksClient {
    url: String,
    http: reqwest::Client,
    cache: RwLock<Cache>,
    refreshing: Mutex<()>,
    ttl: Duration,
    min_refresh_interval: Duration,
}

impl JwksClient {
    /// Keys from `url` (auth's `/.well-known/jwks.json`), kept 5 minutes, refreshed at most
    /// every 10 seconds.
    pub fn new(url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            url: url.into(),
            http,
            cache: RwLock::new(Cache::default()),
            refreshing: Mutex::new(()),
            ttl: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(10),
        }
    }

    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// The key named `kid`.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid)
                && !self.is_stale(&cache)
            {
                return Ok(key.clone());
            }
        }
        self.refresh().await;
        let cache = self.cache.read().await;
        match cache.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if cache.fetched_at.is_none() => Err(TokenError::KeysUnavailable),
            None => Err(TokenError::UnknownKey),
        }
    }

    fn is_stale(&self, cache: &Cache) -> bool {
        cache.fetched_at.is_none_or(|at| at.elapsed() > self.ttl)
    }

    /// Fetches the set unless another caller just did (or is doing so now). A failed fetch
    /// keeps the old keys: auth being briefly down must not reject every valid token.
    async fn refresh(&self) {
        let _guard = self.refreshing.lock().await;
        {
            let cache = self.cache.read().await;
            if cache
                .attempted_at
                .is_some_and(|at| at.elapsed() < self.min_refresh_interval)
            {
                return;
            }
        }
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        cache.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
            }
            Err(err) => tracing::warn!(url = %self.url, %err, "could not refresh the JWKS"),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        let body = read_capped(response, MAX_DOCUMENT_BYTES).await?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            // Keys we cannot use (no kid, another algorithm) are skipped, not fatal: the set
            // may carry keys for other purposes.
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(err) => tracing::warn!(%kid, %err, "skipping unusable JWK"),
            }
        }
        Ok(keys)
    }
}

/// The body of `response`, refused once it grows past `cap` bytes (whatever its
/// `Content-Length` claims).
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let too_big = || format!("the JWKS document is larger than {cap} bytes");
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
