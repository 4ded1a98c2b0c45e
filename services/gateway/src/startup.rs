//! Builds the Pingora server: one background service per cluster (discovery and health
//! checks) and the HTTP service on the gateway's port.

use crate::client_ip::TrustedProxies;
use crate::cluster::Cluster;
use crate::config::{GatewayConfig, SERVICE};
use crate::cors::Cors;
use crate::edge_auth::EdgeAuth;
use crate::openapi::{Docs, MergedSpec};
use crate::own_endpoints::OwnEndpoints;
use crate::proxy::Gateway;
use crate::rate_limit::Limiter;
use crate::revocation::{self, Revocations};
use crate::route_table::{RouteFileError, RouteTable};
use crate::server::HttpApp;
use crate::telemetry::Meters;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use platform::CommonConfig;
use platform::health::{Health, RedisCheck};
use std::sync::Arc;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Routes(#[from] RouteFileError),
    #[error(transparent)]
    Redis(#[from] platform::redis::RedisError),
    #[error("invalid REDIS_URL: {0}")]
    RedisUrl(#[from] redis::RedisError),
    #[error("{0}")]
    Setting(String),
}

/// Pooled Redis connections, for `/health` only: rate limits use one multiplexed connection
/// per worker thread.
const REDIS_POOL_SIZE: usize = 2;

pub fn build(common: &CommonConfig, config: &GatewayConfig) -> Result<Server, StartError> {
    let table = RouteTable::load(&config.gateway_routes_file, std::env::vars())?;
    let trusted =
        TrustedProxies::parse(&config.gateway_trusted_proxies).map_err(StartError::Setting)?;
    let cors = Cors::parse(&config.gateway_cors_origins).map_err(StartError::Setting)?;
    let redis = platform::redis::pool(&common.redis_url, REDIS_POOL_SIZE)?;
    let verifier = Verifier::from_jwks(
        &VerifierSettings::new(&config.jwt_issuer, &config.jwt_audience),
        JwksClient::new(&config.jwks_url),
    );

    let conf = ServerConf {
        threads: config.threads(),
        // SIGTERM: stop accepting, then give requests in flight this long to finish.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(common.shutdown_timeout_secs),
        // Single-threaded runtimes: a request, its upstream connection and the pool that
        // connection returns to stay on one thread (see `upstream`).
        work_stealing: false,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut clusters = Vec::with_capacity(table.clusters.len());
    for spec in table.clusters.clone() {
        let (cluster, service) = Cluster::new(spec);
        server.add_service(service);
        clusters.push(cluster);
    }
    let own = OwnEndpoints {
        health: Health::new(&common.app_version, &common.app_env).with(RedisCheck(redis)),
        metrics: platform::metrics::install(SERVICE),
        spec: MergedSpec::new(&common.app_version, config.openapi_cache()),
        docs: Docs::default(),
    };
    let redis_client = redis::Client::open(common.redis_url.as_str())?;
    let revocations = Arc::new(Revocations::default());
    server.add_service(background_service(
        "revocation notices",
        revocation::Listener {
            revocations: Arc::clone(&revocations),
            client: redis_client.clone(),
        },
    ));
    let limiter = Limiter::new(
        redis_client,
        &config.gateway_redis_prefix,
        config.redis_timeout(),
        Arc::clone(&revocations),
    );
    server.add_service(background_service("batched counts", limiter.sender()));
    let gateway = Arc::new(Gateway {
        table,
        clusters,
        auth: EdgeAuth::new(verifier, config.gateway_token_cache_size),
        limiter,
        trusted,
        cors,
        own,
        pool: config.upstream_pool(),
        revocations,
        meters: Meters::default(),
    });
    // One listening service per worker thread, each with a runtime of one thread, all on the
    // same socket (Pingora shares a listening socket between services of one address). A
    // connection is then accepted, registered with the reactor and served on one thread;
    // with one service of N threads, Pingora accepts on one thread and serves on a random
    // one, so every read on half the connections wakes a second thread.
    let listen = format!("{}:{}", common.host, common.port);
    for worker in 0..config.threads() {
        let app = HttpApp {
            gateway: Arc::clone(&gateway),
            keepalive: config.keepalive(),
        };
        let mut http = Service::new(format!("{SERVICE} worker {worker}"), app);
        http.threads = Some(1);
        http.add_tcp(&listen);
        server.add_service(http);
    }
    Ok(server)
}
