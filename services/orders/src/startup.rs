//! Builds the service from its configuration: migrations, pools, rules, geocoder, the relay,
//! the two consumers, the timers and the HTTP server. Tests build it the same way on port 0
//! against their own database and exchange.

use crate::config::{OrdersConfig, SERVICE};
use crate::db::carts::Carts;
use crate::events::{READ_MODELS_BINDINGS, READ_MODELS_QUEUE, ReadModels};
use crate::events::{SAGA_BINDINGS, SAGA_QUEUE, SagaEvents};
use crate::routes;
use crate::state::AppState;
use crate::timers::Timers;
use ::events::{Broker, BrokerCheck, Consumer, ConsumerConfig, Relay, RelayConfig};
use actix_web::web;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use compliance::Rules;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use platform::health::{DatabaseCheck, Health, RedisCheck};
use platform::http::ServerSettings;
use platform::{CommonConfig, Shutdown};
use std::sync::Arc;
use std::time::Duration;

/// Orders' own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/orders");

use platform::start::fail;
pub use platform::start::{Running, StartError};

/// Runs orders' migrations (and the shared outbox/inbox ones) into the `orders` schema.
pub async fn migrate(common: &CommonConfig) -> Result<(), StartError> {
    platform::start::migrate(common, &[&::events::MIGRATIONS, &MIGRATIONS]).await
}

/// The compliance rules this deployment applies.
pub fn rules(config: &OrdersConfig) -> Result<Rules, StartError> {
    let all = if config.compliance_rules_file.is_empty() {
        Rules::embedded()
    } else {
        Rules::from_file(&config.compliance_rules_file)
    }
    .map_err(|e| fail("compliance rules")(e.to_string()))?;
    all.select(&config.jurisdiction_codes())
        .map_err(|e| fail("compliance rules")(e.to_string()))
}

/// Starts the orders service; `build` answers the `Running` service.
pub struct Application;

impl Application {
    pub async fn build(
        common: CommonConfig,
        config: OrdersConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
    ) -> Result<Running, StartError> {
        let verifier = Verifier::from_jwks(
            &VerifierSettings::new(&config.jwt_issuer, &config.jwt_audience),
            JwksClient::new(&config.jwks_url),
        );
        Self::build_with_verifier(common, config, listener, shutdown, verifier).await
    }

    /// With `verifier` instead of auth's JWKS (tests sign their own tokens).
    pub async fn build_with_verifier(
        common: CommonConfig,
        config: OrdersConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
        verifier: Verifier,
    ) -> Result<Running, StartError> {
        config.check().map_err(fail("configuration"))?;
        let rules = Arc::new(rules(&config)?);
        let geocoder = geo::geocoder_from_config(&config.geocoder, &config.google_maps_api_key)
            .map_err(fail("geocoder"))?;
        let track_and_trace =
            crate::track_and_trace::adapter(&config).map_err(fail("track and trace"))?;
        migrate(&common).await?;
        // Every service refuses revoked tokens itself: the gateway is not the only way in,
        // and it lets tokens through when Redis is slow.
        let revocations = auth_token::RevocationCheck::new(&common.redis_url)
            .map_err(|e| fail("revocation check")(e.to_string()))?;
        let verifier = verifier.with_revocations(revocations);
        let schema = common.schema();
        let pool = platform::db::pool(&common.database_url, &schema, common.database_pool_size)
            .map_err(|e| fail("database pool")(e.to_string()))?;
        let redis = platform::redis::pool(&common.redis_url, common.database_pool_size)
            .map_err(|e| fail("redis pool")(e.to_string()))?;
        let broker = Broker::new(&common.amqp_url, SERVICE);

        let relay_config = RelayConfig::new(
            &common.database_url,
            &schema,
            &common.events_exchange,
            SERVICE,
        );
        let relay = Relay::new(pool.clone(), broker.clone(), relay_config);
        let mut tasks = vec![("outbox relay", tokio::spawn(relay.run(shutdown.token())))];
        let consumers: [(&'static str, &str, &[&str]); 2] = [
            (
                "read model consumer",
                READ_MODELS_QUEUE,
                READ_MODELS_BINDINGS,
            ),
            ("saga consumer", SAGA_QUEUE, SAGA_BINDINGS),
        ];
        for (name, queue, bindings) in consumers {
            let config = ConsumerConfig::new(
                ::events::queue_name(&common.events_exchange, queue),
                &common.events_exchange,
                bindings,
            );
            let task = if queue == SAGA_QUEUE {
                tokio::spawn(
                    Consumer::new(pool.clone(), broker.clone(), config, SagaEvents)
                        .run(shutdown.token()),
                )
            } else {
                tokio::spawn(
                    Consumer::new(pool.clone(), broker.clone(), config, ReadModels)
                        .run(shutdown.token()),
                )
            };
            tasks.push((name, task));
        }
        let timers = Timers {
            pool: pool.clone(),
            config: config.clone(),
            track_and_trace,
        };
        tasks.push(("order timers", tokio::spawn(timers.run(shutdown.token()))));

        let health = Health::new(&common.app_version, &common.app_env)
            .with(DatabaseCheck(pool.clone()))
            .with(RedisCheck(redis.clone()))
            .with(BrokerCheck(broker));
        let carts = Carts::new(
            redis,
            &config.orders_redis_prefix,
            Duration::from_secs(config.cart_ttl_secs),
            config.cart_max_lines,
        );
        let state = web::Data::new(AppState {
            pool,
            carts,
            rules,
            geocoder,
            config,
        });
        let verifier = web::Data::new(verifier);
        let shutdown_timeout = Duration::from_secs(common.shutdown_timeout_secs);
        let settings = ServerSettings {
            service: SERVICE,
            workers: None,
            shutdown_timeout,
        };
        let api = routes::api();
        let server = platform::http::serve(listener, settings, health, &shutdown, move |cfg| {
            cfg.app_data(state.clone())
                .app_data(verifier.clone())
                .configure(|cfg| api.configure(cfg));
        })
        .map_err(|e| fail("http server")(e.to_string()))?;
        Ok(Running::new(server, tasks, shutdown, shutdown_timeout))
    }
}
