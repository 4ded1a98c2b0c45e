//! Builds the service from its configuration: migrations, pools, the image store, the demo
//! seed, the relay and the order-events consumer, and the HTTP server. Tests build it the
//! same way on port 0 against their own database and exchange.

use crate::cache::ProductCache;
use crate::config::{CatalogConfig, SERVICE};
use crate::events::{ORDERS_BINDINGS, ORDERS_QUEUE, OrderEvents};
use crate::routes;
use crate::seed;
use crate::state::AppState;
use ::events::{Broker, BrokerCheck, Consumer, ConsumerConfig, Relay, RelayConfig};
use actix_web::web;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use platform::health::{DatabaseCheck, Health, RedisCheck};
use platform::http::ServerSettings;
use platform::objects::Objects;
use platform::{CommonConfig, Shutdown};
use std::time::Duration;

/// Catalog's own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/catalog");

use platform::start::fail;
pub use platform::start::{Running, StartError};

/// Runs catalog's migrations (and the shared outbox/inbox ones) into the `catalog` schema.
pub async fn migrate(common: &CommonConfig) -> Result<(), StartError> {
    platform::start::migrate(common, &[&::events::MIGRATIONS, &MIGRATIONS]).await
}

/// Starts the catalog service; `build` answers the `Running` service.
pub struct Application;

impl Application {
    /// Everything up to accepting connections on `listener`. `verifier` replaces the JWKS
    /// verifier (tests sign their own tokens).
    pub async fn build(
        common: CommonConfig,
        config: CatalogConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
    ) -> Result<Running, StartError> {
        let verifier = Verifier::from_jwks(
            &VerifierSettings::new(&config.jwt_issuer, &config.jwt_audience),
            JwksClient::new(&config.jwks_url),
        );
        Self::build_with_verifier(common, config, listener, shutdown, verifier).await
    }

    pub async fn build_with_verifier(
        common: CommonConfig,
        config: CatalogConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
        verifier: Verifier,
    ) -> Result<Running, StartError> {
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
        let images = Objects::from_url(&config.object_store_url)
            .map_err(|e| fail("image store")(e.to_string()))?;
        let cache = ProductCache::new(
            redis.clone(),
            &config.catalog_cache_prefix,
            config.catalog_cache_enabled,
            config.cache_ttl(),
        );

        if config.catalog_seed_demo {
            let mut conn = platform::db::connect(&common.database_url, &schema)
                .await
                .map_err(|e| fail("database")(e.to_string()))?;
            let loaded = seed::load_demo(&mut conn, &images, &config.catalog_public_url)
                .await
                .map_err(|e| fail("demo catalog")(e.to_string()))?;
            cache.invalidate(&crate::cache::scopes_for(&loaded)).await;
        }

        let mut tasks = Vec::new();
        let relay_config = RelayConfig::new(
            &common.database_url,
            &schema,
            &common.events_exchange,
            SERVICE,
        );
        let relay = Relay::new(pool.clone(), broker.clone(), relay_config);
        tasks.push(("outbox relay", tokio::spawn(relay.run(shutdown.token()))));
        let consumer_config = ConsumerConfig::new(
            ::events::queue_name(&common.events_exchange, ORDERS_QUEUE),
            &common.events_exchange,
            ORDERS_BINDINGS,
        );
        let handler = OrderEvents {
            pool: pool.clone(),
            cache: cache.clone(),
            public_url: config.catalog_public_url.clone(),
        };
        let consumer = Consumer::new(pool.clone(), broker.clone(), consumer_config, handler);
        tasks.push((
            "order events consumer",
            tokio::spawn(consumer.run(shutdown.token())),
        ));

        let health = Health::new(&common.app_version, &common.app_env)
            .with(DatabaseCheck(pool.clone()))
            .with(RedisCheck(redis))
            .with(BrokerCheck(broker));
        let state = web::Data::new(AppState {
            pool,
            cache,
            images,
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
                // Images are up to 5 MB; the multipart reader enforces that itself.
                .app_data(web::PayloadConfig::new(6 * 1024 * 1024))
                .configure(|cfg| api.configure(cfg));
        })
        .map_err(|e| fail("http server")(e.to_string()))?;
        Ok(Running::new(server, tasks, shutdown, shutdown_timeout))
    }
}
