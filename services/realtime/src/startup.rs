//! Builds the service from its configuration: the Socket.IO server with its Redis adapter and
//! its place among the replicas, the event-bus consumer, the Redis channels, and the HTTP
//! server. Tests build it the same way on port 0.

use crate::config::{PATH, RealtimeConfig, SERVICE};
use crate::events::{BusEvents, EVENTS_BINDINGS, EVENTS_QUEUE};
use crate::handler::Realtime;
use crate::limits::{HandshakeLimit, Limits};
use crate::proxy::Proxy;
use crate::{ephemeral, routes};
use ::events::{Broker, BrokerCheck, ConsumerConfig, LiveConsumer};
use actix_web::web;
use auth_token::{JwksClient, Verifier, VerifierSettings};
use futures_util::future::BoxFuture;
use platform::health::{Health, HealthCheck};
use platform::http::ServerSettings;
use platform::start::fail;
use platform::{CommonConfig, Shutdown};
use socketio::adapter::redis::RedisAdapter;
use socketio::cluster::Cluster;
use socketio::{NodeId, SocketIo};
use std::sync::Arc;
use std::time::Duration;

pub use platform::start::{Running, StartError};

/// Connections the kernel holds for the workers to accept. Thousands of clients reconnect at
/// once when another replica drains; std's listener would keep 128 of them.
const BACKLOG: i32 = 4096;

/// Binds `host:port` with a backlog for reconnection storms (port 0 picks a free one).
pub fn bind(host: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    use std::net::ToSocketAddrs;
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("{host} resolves to no address"),
        )
    })?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// `/health`: the adapter's subscription is up (without it, rooms stop at this replica).
struct AdapterCheck(Arc<RedisAdapter>);

impl HealthCheck for AdapterCheck {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.0.is_subscribed() {
                Ok(())
            } else {
                Err("the Socket.IO adapter is not subscribed to Redis".into())
            }
        })
    }
}

/// Starts the realtime service; `build` answers the `Running` service.
pub struct Application;

impl Application {
    pub async fn build(
        common: CommonConfig,
        config: RealtimeConfig,
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
        config: RealtimeConfig,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
        verifier: Verifier,
    ) -> Result<Running, StartError> {
        config.check().map_err(fail("configuration"))?;
        let port = listener
            .local_addr()
            .map_err(|e| fail("listener")(e.to_string()))?
            .port();
        // Auth's revocations are checked at CONNECT, and announced ones close live sockets.
        let revocations = auth_token::RevocationCheck::new(&common.redis_url)
            .map_err(|e| fail("revocation check")(e.to_string()))?;
        let verifier = Arc::new(verifier.with_revocations(revocations));
        let proxy = Proxy::new(
            &config.realtime_upstream_tracking,
            &config.realtime_upstream_chat,
            config.proxy_timeout(),
        )
        .map_err(fail("proxy client"))?;

        let node = NodeId::random();
        let adapter = RedisAdapter::new(&common.redis_url, &config.realtime_redis_prefix, node)
            .map_err(|e| fail("Redis adapter")(e.to_string()))?;
        let socketio = config.socketio();
        let io = SocketIo::new(socketio.clone(), node, adapter.clone());
        io.namespace(
            "/",
            Arc::new(Realtime {
                verifier,
                proxy: Arc::new(proxy),
                limits: Limits {
                    events_per_second: config.realtime_events_per_second,
                    event_burst: config.realtime_event_burst,
                    max_event_bytes: config.realtime_max_event_bytes,
                    max_rooms: config.realtime_max_rooms,
                },
            }),
        );
        let cluster = Cluster::new(
            &common.redis_url,
            &config.realtime_redis_prefix,
            node,
            &config.advertise_url(port),
            PATH,
            socketio.max_payload,
            socketio.ping_interval + socketio.ping_timeout,
        )
        .map_err(fail("replica registry"))?;
        io.engine().set_forward(cluster.clone());

        let redis = platform::redis::pool(&common.redis_url, 8)
            .map_err(|e| fail("Redis pool")(e.to_string()))?;
        let handshakes = web::Data::new(HandshakeLimit::new(
            redis,
            &config.realtime_redis_prefix,
            config.realtime_handshakes_per_minute,
        ));

        let token = shutdown.token();
        let listening = ephemeral::Listening::default();
        let mut tasks = vec![
            (
                "socket.io adapter",
                tokio::spawn(adapter.clone().run(io.clone(), token.clone())),
            ),
            ("replica registry", tokio::spawn(cluster.run(token.clone()))),
            (
                "redis channels",
                tokio::spawn(ephemeral::run(
                    io.clone(),
                    common.redis_url.clone(),
                    config.realtime_emit_channel.clone(),
                    listening.clone(),
                    token.clone(),
                )),
            ),
        ];
        let broker = Broker::new(&common.amqp_url, SERVICE);
        let consumer = LiveConsumer::new(
            broker.clone(),
            ConsumerConfig::new(
                ::events::queue_name(&common.events_exchange, EVENTS_QUEUE),
                &common.events_exchange,
                EVENTS_BINDINGS,
            ),
            BusEvents { io: io.clone() },
        );
        tasks.push(("event bus consumer", tokio::spawn(consumer.run(token))));
        // At shutdown, clients are told to go (their transports close) over a few seconds, and
        // reconnect to the other replicas.
        let draining = io.clone();
        let stopping = shutdown.wait();
        let drain = Duration::from_secs(config.realtime_drain_secs);
        tasks.push((
            "connection drain",
            tokio::spawn(async move {
                stopping.await;
                draining.engine().drain(drain).await;
            }),
        ));

        let health = Health::new(&common.app_version, &common.app_env)
            .with(AdapterCheck(adapter))
            .with(listening)
            .with(BrokerCheck(broker));
        let shutdown_timeout = Duration::from_secs(common.shutdown_timeout_secs);
        let settings = ServerSettings {
            service: SERVICE,
            workers: None,
            shutdown_timeout,
        };
        let api = routes::api();
        let io = web::Data::new(io);
        let server = platform::http::serve(listener, settings, health, &shutdown, move |cfg| {
            cfg.app_data(io.clone())
                .app_data(handshakes.clone())
                .configure(|cfg| api.configure(cfg));
        })
        .map_err(|e| fail("http server")(e.to_string()))?;
        Ok(Running::new(server, tasks, shutdown, shutdown_timeout))
    }
}
