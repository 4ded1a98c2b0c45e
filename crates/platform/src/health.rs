//! `/health` (the guide's shape: status, timestamp, version, environment and one check per
//! dependency; 200 or 503) and `/health/live` (the process answers; for liveness probes, so a
//! database outage makes a pod unready, never restarted).

use crate::db::DbPool;
use crate::redis::RedisPool;
use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl;
use futures_util::future::{BoxFuture, join_all};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one dependency may take before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency `/health` reports on.
pub trait HealthCheck: Send + Sync {
    /// The key in `checks` (`database`, `redis`, `rabbitmq`).
    fn name(&self) -> &'static str;
    /// `Ok` when the dependency answers; the error text is shown to on-call.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// PostgreSQL answers a query through the service's pool.
pub struct DatabaseCheck(pub DbPool);

impl HealthCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.0.get().await.map_err(|e| e.to_string())?;
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}

/// Redis answers `PING`.
pub struct RedisCheck(pub RedisPool);

impl HealthCheck for RedisCheck {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.0.get().await.map_err(|e| e.to_string())?;
            let pong: String = deadpool_redis::redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(format!("unexpected reply {pong}"))
            }
        })
    }
}

/// Everything `/health` needs; built once per service.
#[derive(Clone)]
pub struct Health {
    version: String,
    environment: String,
    checks: Vec<Arc<dyn HealthCheck>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub status: &'static str,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub version: String,
    pub environment: String,
    pub checks: BTreeMap<&'static str, CheckReport>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub status: &'static str,
    pub response_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Health {
    pub fn new(version: impl Into<String>, environment: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            environment: environment.into(),
            checks: Vec::new(),
        }
    }

    /// Adds a dependency to report on.
    pub fn with(mut self, check: impl HealthCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Runs every check at once, each bounded by a timeout.
    pub async fn report(&self) -> HealthReport {
        let results = join_all(self.checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
            };
            let response_time = format!("{}ms", started.elapsed().as_millis());
            let report = match outcome {
                Ok(()) => CheckReport {
                    status: "healthy",
                    response_time,
                    error: None,
                },
                Err(error) => CheckReport {
                    status: "unhealthy",
                    response_time,
                    error: Some(error),
                },
            };
            (check.name(), report)
        }))
        .await;
        let healthy = results.iter().all(|(_, report)| report.error.is_none());
        HealthReport {
            status: if healthy { "healthy" } else { "unhealthy" },
            timestamp: chrono::Utc::now(),
            version: self.version.clone(),
            environment: self.environment.clone(),
            checks: results.into_iter().collect(),
        }
    }
}

async fn health(health: web::Data<Health>) -> HttpResponse {
    let report = health.report().await;
    if report.status == "healthy" {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

/// Mounts `/health` and `/health/live`.
pub fn routes(health: Health) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(health))
            .route("/health", web::get().to(self::health))
            .route("/health/live", web::get().to(live));
    }
}
