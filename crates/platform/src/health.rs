//! `/health` (the guide's shape: status, timestamp, version, environment and one check per
//! dependency; 200 or 503) and `/health/live` (the process answers; for liveness probes, so a
//! database outage makes a pod unready, never restarted).
//!
//! A check is healthy, unhealthy, or degraded: working in part (the event bus with a consumer
//! that is not attached to its queue). `/health` answers 200 only when every check of our own
//! dependencies (database, Redis, broker) is healthy: a degraded service is not ready, and
//! says why (`error`, and the check's `details`). A provider outside our control (the payment
//! provider, Google, Metrc, mail, push) is an *external* check: when it is down the report
//! says `degraded` (the guide's word) with 200, since taking every pod out of the load
//! balancer would not bring Stripe back and would take the Stripe webhook down with it.

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

/// How a dependency is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    /// Working in part: the service serves, but not everything it should do happens.
    Degraded,
    Unhealthy,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// A check's whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    /// What is wrong, for on-call; `None` when healthy.
    pub error: Option<String>,
    /// More for on-call (each consumer's state, say), shown as the check's `details`.
    pub details: Option<serde_json::Value>,
}

impl Outcome {
    pub const fn healthy() -> Self {
        Self {
            status: Status::Healthy,
            error: None,
            details: None,
        }
    }

    pub const fn unhealthy(error: String) -> Self {
        Self {
            status: Status::Unhealthy,
            error: Some(error),
            details: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// One dependency `/health` reports on.
pub trait HealthCheck: Send + Sync {
    /// The key in `checks` (`database`, `redis`, `rabbitmq`).
    fn name(&self) -> &'static str;
    /// `Ok` when the dependency answers; the error text is shown to on-call.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
    /// Whether the dependency is outside our control (see the module's doc): its failure
    /// degrades the report without making the service unready.
    fn external(&self) -> bool {
        false
    }
    /// The whole answer: by default healthy when [`HealthCheck::check`] passes and unhealthy
    /// when it does not. A check that can be partly working answers degraded itself.
    fn outcome(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match self.check().await {
                Ok(()) => Outcome::healthy(),
                Err(error) => Outcome::unhealthy(error),
            }
        })
    }
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
    /// Every check of our own dependencies is healthy (the answer is 200).
    #[serde(skip)]
    pub ready: bool,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
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

    /// Runs every check at once, each bounded by a timeout. The report's status is the worst
    /// of its checks'.
    pub async fn report(&self) -> HealthReport {
        let results = join_all(self.checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.outcome()).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    Outcome::unhealthy(format!("no answer within {}s", CHECK_TIMEOUT.as_secs()))
                }
            };
            let status = match outcome.status {
                Status::Unhealthy if check.external() => Status::Degraded,
                status => status,
            };
            let report = CheckReport {
                status: status.as_str(),
                response_time: format!("{}ms", started.elapsed().as_millis()),
                error: outcome.error,
                details: outcome.details,
            };
            let ready = check.external() || status == Status::Healthy;
            (check.name(), status, ready, report)
        }))
        .await;
        let ready = results.iter().all(|(_, _, ready, _)| *ready);
        let status = results
            .iter()
            .map(|(_, status, _, _)| *status)
            .max()
            .unwrap_or(Status::Healthy);
        HealthReport {
            status: status.as_str(),
            ready,
            timestamp: chrono::Utc::now(),
            version: self.version.clone(),
            environment: self.environment.clone(),
            checks: results
                .into_iter()
                .map(|(name, _, _, report)| (name, report))
                .collect(),
        }
    }
}

async fn health(health: web::Data<Health>) -> HttpResponse {
    let report = health.report().await;
    if report.ready {
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Outcome);

    impl HealthCheck for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }

        fn check(&self) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async { Ok(()) })
        }

        fn outcome(&self) -> BoxFuture<'_, Outcome> {
            Box::pin(async { self.1.clone() })
        }
    }

    struct Plain(Result<(), String>);

    impl HealthCheck for Plain {
        fn name(&self) -> &'static str {
            "plain"
        }

        fn check(&self) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async { self.0.clone() })
        }
    }

    fn degraded() -> Outcome {
        Outcome {
            status: Status::Degraded,
            error: Some("orders.saga reconnecting for 3.0s".into()),
            details: Some(serde_json::json!({ "consumers": [] })),
        }
    }

    #[tokio::test]
    async fn the_report_is_as_bad_as_its_worst_check() {
        let healthy = Health::new("1", "test").with(Plain(Ok(())));
        assert_eq!(healthy.report().await.status, "healthy");

        let report = Health::new("1", "test")
            .with(Plain(Ok(())))
            .with(Fixed("rabbitmq", degraded()))
            .report()
            .await;
        assert_eq!(report.status, "degraded");
        let bus = &report.checks["rabbitmq"];
        assert_eq!(bus.status, "degraded");
        assert_eq!(
            bus.error.as_deref(),
            Some("orders.saga reconnecting for 3.0s")
        );
        assert!(bus.details.is_some());

        let report = Health::new("1", "test")
            .with(Plain(Err("refused".into())))
            .with(Fixed("rabbitmq", degraded()))
            .report()
            .await;
        assert_eq!(report.status, "unhealthy");
        assert_eq!(report.checks["plain"].status, "unhealthy");
    }

    #[actix_web::test]
    async fn only_a_healthy_report_answers_200() {
        for (outcome, code) in [(Outcome::healthy(), 200), (degraded(), 503)] {
            let health = Health::new("1", "test").with(Fixed("rabbitmq", outcome));
            let app =
                actix_web::test::init_service(actix_web::App::new().configure(routes(health)))
                    .await;
            let request = actix_web::test::TestRequest::get()
                .uri("/health")
                .to_request();
            let response = actix_web::test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), code);
        }
    }

    struct Provider(Result<(), String>);

    impl HealthCheck for Provider {
        fn name(&self) -> &'static str {
            "payment_provider"
        }

        fn check(&self) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async { self.0.clone() })
        }

        fn external(&self) -> bool {
            true
        }
    }

    async fn answer(health: Health) -> (u16, serde_json::Value) {
        let app =
            actix_web::test::init_service(actix_web::App::new().configure(routes(health))).await;
        let request = actix_web::test::TestRequest::get()
            .uri("/health")
            .to_request();
        let response = actix_web::test::call_service(&app, request).await;
        let code = response.status().as_u16();
        (code, actix_web::test::read_body_json(response).await)
    }

    #[actix_web::test]
    async fn a_provider_outage_is_degraded_and_still_ready() {
        let (code, body) = answer(
            Health::new("1", "test")
                .with(Plain(Ok(())))
                .with(Provider(Err("stripe: connection refused".into()))),
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["checks"]["payment_provider"]["status"], "degraded");
        assert_eq!(
            body["checks"]["payment_provider"]["error"],
            "stripe: connection refused"
        );

        // Our own dependency down still makes the service unready, provider or not.
        let (code, body) = answer(
            Health::new("1", "test")
                .with(Plain(Err("refused".into())))
                .with(Provider(Ok(()))),
        )
        .await;
        assert_eq!(code, 503);
        assert_eq!(body["status"], "unhealthy");
    }
}
