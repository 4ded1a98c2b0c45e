//! Builds the service from its configuration: migrations, pools, keys, the first admin,
//! the relay, the audit and rewards consumers, and the HTTP server. Tests build it the same
//! way on port 0 against their own database and exchange.

use crate::bootstrap;
use crate::config::{AuthConfig, SERVICE};
use crate::documents::{DocumentStore, LinkSigner};
use crate::events::{AUDIT_BINDINGS, AUDIT_QUEUE, AuditRecorder};
use crate::events::{REWARDS_BINDINGS, REWARDS_QUEUE, RewardsRecorder};
use crate::keys::KeyRing;
use crate::passwords::Passwords;
use crate::routes;
use crate::state::AppState;
use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use events::{Broker, BrokerCheck, Consumer, ConsumerConfig, Relay, RelayConfig};
use platform::health::{DatabaseCheck, Health, RedisCheck};
use platform::http::ServerSettings;
use platform::{CommonConfig, Shutdown};
use std::time::Duration;

/// Auth's own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/auth");

use platform::start::fail;
pub use platform::start::{Running, StartError};

/// Runs auth's migrations (and the shared outbox/inbox ones) into the `auth` schema.
pub async fn migrate(common: &CommonConfig) -> Result<(), StartError> {
    platform::start::migrate(common, &[&events::MIGRATIONS, &MIGRATIONS]).await
}

/// Starts the auth service; `build` answers the `Running` service.
pub struct Application;

impl Application {
    /// Everything up to accepting connections on `listener`.
    pub async fn build(
        common: CommonConfig,
        config: AuthConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
    ) -> Result<Running, StartError> {
        config
            .check_for(&common.app_env)
            .map_err(fail("configuration"))?;
        migrate(&common).await?;
        let schema = common.schema();
        let pool = platform::db::pool(&common.database_url, &schema, common.database_pool_size)
            .map_err(|e| fail("database pool")(e.to_string()))?;
        let redis = platform::redis::pool(&common.redis_url, common.database_pool_size)
            .map_err(|e| fail("redis pool")(e.to_string()))?;
        let broker = Broker::new(&common.amqp_url, SERVICE);

        let mut conn = platform::db::connect(&common.database_url, &schema)
            .await
            .map_err(|e| fail("database")(e.to_string()))?;
        let keys = KeyRing::load(&mut conn, &config, &common.app_env)
            .await
            .map_err(|e| fail("signing keys")(e.to_string()))?;
        let passwords = Passwords::new(
            config.password_hash_concurrency(),
            config.password_hash_wait(),
        )
        .map_err(|e| fail("password-hashing threads")(e.to_string()))?;
        let seal_key = config
            .notification_seal_key()
            .map_err(fail("configuration"))?;
        bootstrap::ensure_admin(
            &mut conn,
            &passwords,
            config.fs_admin_email.as_deref(),
            config.fs_admin_password.as_deref(),
        )
        .await
        .map_err(|e| fail("first admin")(e.to_string()))?;
        drop(conn);

        let documents = DocumentStore::from_url(&config.object_store_url)
            .map_err(|e| fail("document store")(e.to_string()))?;
        let links = LinkSigner::new(&config.document_link_secret)
            .map_err(|e| fail("DOCUMENT_LINK_SECRET")(e.to_string()))?;
        let revocations = auth_token::RevocationCheck::new(&common.redis_url)
            .map_err(|e| fail("revocation check")(e.to_string()))?;
        let verifier = web::Data::new(keys.verifier(&config).with_revocations(revocations));

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
            events::queue_name(&common.events_exchange, AUDIT_QUEUE),
            &common.events_exchange,
            AUDIT_BINDINGS,
        );
        let consumer = Consumer::new(pool.clone(), broker.clone(), consumer_config, AuditRecorder);
        tasks.push((
            "audit consumer",
            tokio::spawn(consumer.run(shutdown.token())),
        ));
        let rewards_config = ConsumerConfig::new(
            events::queue_name(&common.events_exchange, REWARDS_QUEUE),
            &common.events_exchange,
            REWARDS_BINDINGS,
        );
        let rewards = Consumer::new(
            pool.clone(),
            broker.clone(),
            rewards_config,
            RewardsRecorder,
        );
        tasks.push((
            "rewards consumer",
            tokio::spawn(rewards.run(shutdown.token())),
        ));

        let health = Health::new(&common.app_version, &common.app_env)
            .with(DatabaseCheck(pool.clone()))
            .with(RedisCheck(redis.clone()))
            .with(BrokerCheck(broker));
        let state = web::Data::new(AppState {
            pool,
            redis,
            keys,
            config,
            documents,
            links,
            passwords,
            seal_key,
        });
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
                // ID documents are up to 10 MB; the multipart reader enforces that itself.
                .app_data(web::PayloadConfig::new(12 * 1024 * 1024))
                .configure(|cfg| api.configure(cfg));
        })
        .map_err(|e| fail("http server")(e.to_string()))?;
        Ok(Running::new(server, tasks, shutdown, shutdown_timeout))
    }
}
