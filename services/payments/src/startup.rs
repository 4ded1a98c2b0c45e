//! Builds the service from its configuration: migrations, the pool, the provider, the relay
//! and the HTTP server. Tests build it the same way on port 0 against their own database and
//! exchange.

use crate::config::{PaymentsConfig, SERVICE};
use crate::events::{ORDERS_BINDINGS, ORDERS_QUEUE, OrderEvents};
use crate::methods::MethodLimits;
use crate::provider::sandbox::{SandboxProvider, WebhookTarget};
use crate::provider::stripe::StripeProvider;
use crate::provider::{PaymentProvider, ProviderCheck};
use crate::routes;
use crate::state::AppState;
use actix_web::web;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use events::{Broker, BrokerCheck, Consumer, ConsumerConfig, Relay, RelayConfig};
use platform::health::{DatabaseCheck, Health};
use platform::http::ServerSettings;
use platform::{CommonConfig, Shutdown};
use std::sync::Arc;
use std::time::Duration;

/// Payments' own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/payments");

use platform::start::fail;
pub use platform::start::{Running, StartError};

/// Runs payments' migrations (and the shared outbox/inbox ones) into the `payments` schema.
pub async fn migrate(common: &CommonConfig) -> Result<(), StartError> {
    platform::start::migrate(common, &[&events::MIGRATIONS, &MIGRATIONS]).await
}

/// Starts the payments service; `build` answers the `Running` service.
pub struct Application;

impl Application {
    pub async fn build(
        common: CommonConfig,
        config: PaymentsConfig,
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
        config: PaymentsConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
        verifier: Verifier,
    ) -> Result<Running, StartError> {
        config
            .check_for(&common.app_env)
            .map_err(fail("configuration"))?;
        migrate(&common).await?;
        // Every service refuses revoked tokens itself: the gateway is not the only way in,
        // and it lets tokens through when Redis is slow.
        let revocations = auth_token::RevocationCheck::new(&common.redis_url)
            .map_err(|e| fail("revocation check")(e.to_string()))?;
        let verifier = verifier.with_revocations(revocations);
        let schema = common.schema();
        let pool = platform::db::pool(&common.database_url, &schema, common.database_pool_size)
            .map_err(|e| fail("database pool")(e.to_string()))?;
        let broker = Broker::new(&common.amqp_url, SERVICE);
        let (provider, sandbox): (Arc<dyn PaymentProvider>, _) =
            match config.payment_provider.as_str() {
                "sandbox" => {
                    let sandbox = Arc::new(SandboxProvider::new(
                        pool.clone(),
                        WebhookTarget {
                            url: config.payments_webhook_url.clone(),
                            secret: config.stripe_webhook_secret.clone(),
                        },
                    ));
                    (sandbox.clone() as Arc<dyn PaymentProvider>, Some(sandbox))
                }
                // `check_for` allowed only sandbox and stripe.
                _ => {
                    let base = Some(config.stripe_api_base.as_str()).filter(|b| !b.is_empty());
                    let stripe = StripeProvider::new(&config.stripe_secret_key, base)
                        .map_err(fail("stripe client"))?;
                    (Arc::new(stripe) as Arc<dyn PaymentProvider>, None)
                }
            };

        let relay_config = RelayConfig::new(
            &common.database_url,
            &schema,
            &common.events_exchange,
            SERVICE,
        );
        let relay = Relay::new(pool.clone(), broker.clone(), relay_config);
        let mut tasks = vec![("outbox relay", tokio::spawn(relay.run(shutdown.token())))];
        let consumer_config = ConsumerConfig::new(
            events::queue_name(&common.events_exchange, ORDERS_QUEUE),
            &common.events_exchange,
            ORDERS_BINDINGS,
        );
        let handler = OrderEvents {
            provider: provider.clone(),
        };
        let consumer = Consumer::new(pool.clone(), broker.clone(), consumer_config, handler);
        tasks.push((
            "order events consumer",
            tokio::spawn(consumer.run(shutdown.token())),
        ));

        let health = Health::new(&common.app_version, &common.app_env)
            .with(DatabaseCheck(pool.clone()))
            .with(BrokerCheck(broker))
            .with(ProviderCheck::new(provider.clone()));
        let redis = platform::redis::pool(&common.redis_url, common.database_pool_size)
            .map_err(|e| fail("redis pool")(e.to_string()))?;
        let method_limits = MethodLimits::new(
            redis,
            &config.payments_redis_prefix,
            config.payments_max_methods,
            config.payments_method_adds_per_hour,
        );
        let state = web::Data::new(AppState {
            pool,
            provider,
            sandbox,
            webhook_secret: config.stripe_webhook_secret.clone(),
            method_limits,
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
