//! Shutdown is prompt whatever the broker connection went through: opened first on a runtime
//! that has since stopped (an HTTP worker's, by `/health`), or a broker that stopped answering.

use crate::support::{Bus, Recorder};
use events::Broker;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest a service may take to stop (issue 34: every service within 2 s of SIGTERM).
const PROMPT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_first_opened_on_a_runtime_that_stopped_serves_on_and_stops_promptly() {
    let mut bus = Bus::new().await;
    // As `/health` did on an actix worker: the first connection is asked for on a runtime of
    // another thread, which then stops (as the workers do at shutdown).
    let amqp = bus.amqp.clone();
    std::thread::spawn(move || {
        let worker = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        worker.block_on(async { amqp.connection().await.map(drop) })
    })
    .join()
    .unwrap()
    .unwrap();

    let flowing = async {
        bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
            .await;
        bus.start_relay();
        bus.publish(1).await;
        bus.wait_for_versions(1).await
    };
    let versions = tokio::time::timeout(crate::support::TIMEOUT, flowing)
        .await
        .expect("the connection outlived the runtime that asked for it");
    assert_eq!(versions, vec![1]);
    let started = Instant::now();
    bus.stop().await;
    assert!(
        started.elapsed() < PROMPT,
        "stopped in {:?}",
        started.elapsed()
    );
}

/// A TCP proxy to RabbitMQ that can stop passing bytes on while keeping its connections open:
/// a broker that no longer answers.
struct Freezer {
    addr: std::net::SocketAddr,
    frozen: Arc<AtomicBool>,
}

impl Freezer {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let gate = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pass(client_read, server_write, gate.clone()));
                tokio::spawn(pass(server_read, client_write, gate.clone()));
            }
        });
        Self { addr, frozen }
    }
}

async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_prompt_when_the_broker_stops_answering() {
    let mut bus = Bus::new().await;
    let (scheme, rest) = bus.broker.url.split_once("://").unwrap();
    let (credentials, rest) = rest.rsplit_once('@').unwrap();
    let (target, vhost) = rest.split_once('/').unwrap();
    let freezer = Freezer::start(target.to_owned()).await;
    let url = format!("{scheme}://{credentials}@{}/{vhost}", freezer.addr);
    let amqp = Broker::new(url, bus.connection_name.clone());
    bus.start_consumer_as(
        amqp.clone(),
        bus.consumer_config("reader"),
        Recorder::default(),
    )
    .await;
    bus.start_relay_as(amqp);
    bus.publish(1).await;
    assert_eq!(bus.wait_for_versions(1).await, vec![1]);

    // The broker stops answering while the relay waits for its confirms.
    freezer.frozen.store(true, Ordering::SeqCst);
    bus.publish(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bus.unsent().await,
        1,
        "unconfirmed, the event waits for next time"
    );
    let started = Instant::now();
    bus.stop().await;
    assert!(
        started.elapsed() < PROMPT,
        "stopped in {:?}",
        started.elapsed()
    );
}
