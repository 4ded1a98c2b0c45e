//! `/openapi.json`: every running service's OpenAPI document merged into one (`merge`), with
//! the gateway's own endpoints and answers (`edge`), and `/docs`: Swagger UI over it, its
//! assets embedded in the binary (nothing fetched from the internet).

mod edge;
mod merge;

pub use merge::{ServiceDoc, merge};

use crate::route_table::RouteTable;
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use utoipa_swagger_ui::Config;

/// How long one service may take to hand over its document.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Fetches and merges the documents, reusing the merged one for `ttl`.
pub struct MergedSpec {
    client: reqwest::Client,
    version: String,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl MergedSpec {
    pub fn new(version: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .unwrap_or_default(),
            version: version.into(),
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The merged document; `sources` are (service, URL) pairs of the services that have an
    /// endpoint serving. A service that does not answer is left out until the next refresh.
    pub async fn get(&self, table: &RouteTable, sources: Vec<(String, String)>) -> Bytes {
        let mut cached = self.cached.lock().await;
        if let Some((at, body)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return body.clone();
        }
        let fetches = sources.into_iter().map(|(service, url)| {
            let client = self.client.clone();
            async move {
                let answer = client
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                match answer {
                    Ok(response) => match response.json::<Value>().await {
                        Ok(doc) => Some(ServiceDoc { service, doc }),
                        Err(err) => {
                            tracing::warn!(%service, error = %err, "OpenAPI document unreadable");
                            None
                        }
                    },
                    Err(err) => {
                        tracing::warn!(%service, error = %err, "OpenAPI document unavailable");
                        None
                    }
                }
            }
        });
        let docs: Vec<ServiceDoc> = futures_util::future::join_all(fetches)
            .await
            .into_iter()
            .flatten()
            .collect();
        let body = Bytes::from(merge(&self.version, table, &docs).to_string());
        *cached = Some((Instant::now(), body.clone()));
        body
    }
}

/// A Swagger UI file: `/docs` (the page) and `/docs/<asset>`.
pub struct DocsFile {
    pub bytes: Bytes,
    pub content_type: String,
}

pub struct Docs {
    config: Arc<Config<'static>>,
}

impl Default for Docs {
    fn default() -> Self {
        Self {
            config: Arc::new(Config::from("/openapi.json")),
        }
    }
}

impl Docs {
    /// `tail` is what follows `/docs/` (empty for the page itself).
    pub fn file(&self, tail: &str) -> Option<DocsFile> {
        let tail = if tail.is_empty() { "index.html" } else { tail };
        match utoipa_swagger_ui::serve(tail, Arc::clone(&self.config)) {
            Ok(Some(file)) => Some(DocsFile {
                bytes: Bytes::from(file.bytes.into_owned()),
                content_type: file.content_type,
            }),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(error = %err, "Swagger UI asset unreadable");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_page_and_its_assets_are_embedded() {
        let docs = Docs::default();
        let page = docs.file("").unwrap();
        assert!(page.content_type.starts_with("text/html"));
        let initializer = docs.file("swagger-initializer.js").unwrap();
        assert!(String::from_utf8_lossy(&initializer.bytes).contains("/openapi.json"));
        assert!(docs.file("swagger-ui-bundle.js").is_some());
        assert!(docs.file("nope.js").is_none());
    }
}
