//! Builds the Pingora server: one background service per cluster (discovery and health
//! checks), the revocation listener, the batched rate-limit sender, one HTTP worker per
//! thread on the gateway's port, and the operations listener on its own port.

use crate::client_ip::TrustedProxies;
use crate::cluster::Cluster;
use crate::config::{GatewayConfig, SERVICE};
use crate::cors::Cors;
use crate::edge_auth::EdgeAuth;
use crate::openapi::{Docs, MergedSpec};
use crate::ops::{Ops, OpsServer};
use crate::own_endpoints::OwnEndpoints;
use crate::proxy::Gateway;
use crate::rate_limit::Limiter;
use crate::revocation::{self, Revocations};
use crate::route_table::{RouteFileError, RouteTable};
use crate::server::{self, Connections, DrainingSignals, HttpApp};
use crate::telemetry::Meters;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use platform::CommonConfig;
use platform::health::{Health, RedisCheck};
use std::sync::Arc;
use std::time::Duration;

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
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Pooled Redis connections, for `/health` only: rate limits use one multiplexed connection
/// per worker thread.
const REDIS_POOL_SIZE: usize = 2;

/// The server, and the signal handling to run it with.
pub struct Built {
    pub server: Server,
    pub run_args: RunArgs,
}

pub fn build(common: &CommonConfig, config: &GatewayConfig) -> Result<Built, StartError> {
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
        // SIGTERM drains the connections before Pingora stops (see `server`); nothing is
        // left for a fixed grace period to wait for.
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
        spec: MergedSpec::new(&common.app_version, config.openapi_cache()),
        docs: Docs::default(),
    };
    let ops = Ops {
        health: Health::new(&common.app_version, &common.app_env).with(RedisCheck(redis)),
        metrics: platform::metrics::install(SERVICE),
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
        ops,
        pool: config.upstream_pool(),
        revocations,
        meters: Meters::default(),
    });
    let listen_error = |source| StartError::Listen {
        addr: format!("{}:{}", common.host, common.port),
        source,
    };
    let listener = server::bind(&common.host, common.port).map_err(listen_error)?;
    if config.gateway_ops_port == common.port {
        return Err(StartError::Setting(format!(
            "GATEWAY_OPS_PORT ({}) must differ from PORT: the operations port is never public",
            config.gateway_ops_port
        )));
    }
    let ops_listener = server::bind(&common.host, config.gateway_ops_port).map_err(|source| {
        StartError::Listen {
            addr: format!("{}:{}", common.host, config.gateway_ops_port),
            source,
        }
    })?;
    server.add_service(background_service(
        "operations port",
        OpsServer {
            gateway: Arc::clone(&gateway),
            listener: ops_listener,
        },
    ));
    let threads = config.threads();
    let connections = Arc::new(Connections::new(threads));
    let app = Arc::new(HttpApp {
        gateway,
        keepalive: config.keepalive(),
        connections: Arc::clone(&connections),
    });
    // One worker per thread, each a runtime of one thread (see `server`).
    let workers = server::workers(&app, &listener, threads).map_err(listen_error)?;
    for (index, worker) in workers.into_iter().enumerate() {
        server.add_service(background_service(
            &format!("{SERVICE} worker {index}"),
            worker,
        ));
    }
    let signals = DrainingSignals {
        connections,
        timeout: Duration::from_secs(common.shutdown_timeout_secs),
    };
    Ok(Built {
        server,
        run_args: RunArgs {
            shutdown_signal: Box::new(signals),
        },
    })
}
