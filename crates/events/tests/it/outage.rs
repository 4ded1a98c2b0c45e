//! A database outage under a consumer delays events; it never dead-letters them.

use crate::support::{Bus, Recorder};
use events::Consumer;
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy in front of PostgreSQL that can refuse connections, like a database that is
/// down, and come back.
struct Flaky {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
}

impl Flaky {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(false));
        let gate = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { addr, up }
    }
}

/// `url` with its `host:port` replaced by `addr`, and the `host:port` it had.
fn via(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (credentials, host) = match authority.rsplit_once('@') {
        Some((credentials, host)) => (format!("{credentials}@"), host),
        None => (String::new(), authority),
    };
    (
        format!("{scheme}://{credentials}{addr}/{path}"),
        host.to_owned(),
    )
}

#[tokio::test]
async fn a_database_outage_delays_events_but_never_dead_letters_them() {
    let mut bus = Bus::new().await;
    let (_, postgres) = via(&bus.db.url, "127.0.0.1:1".parse().unwrap());
    let flaky = Flaky::start(postgres).await;
    let (proxied_url, _) = via(&bus.db.url, flaky.addr);
    let pool = platform::db::pool(&proxied_url, "evtest", 2).unwrap();

    let mut config = bus.consumer_config("reader");
    config.max_attempts = 2;
    let queue = config.queue.clone();
    let consumer = Consumer::new(pool, bus.amqp.clone(), config, Recorder::default());
    consumer.declare().await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    bus.start_relay();
    bus.publish(1).await;

    // Far longer than max_attempts retries would take.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        bus.effects().await.is_empty(),
        "nothing applied while the database is down"
    );
    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let dlq = format!("{queue}.dlq");
    let dead = channel
        .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap();
    assert!(dead.is_none(), "an outage is not the event's fault");

    flaky.up.store(true, Ordering::SeqCst);
    assert_eq!(bus.wait_for_versions(1).await, vec![1]);
    let dead = channel
        .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap();
    assert!(dead.is_none());

    conn.close(200, "done".into()).await.unwrap();
    shutdown.cancel();
    running.await.unwrap();
    bus.stop().await;
}
