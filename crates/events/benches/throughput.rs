//! Event-bus throughput: events per second from outbox rows, through one relay and the
//! broker, to one consumer committing its inbox row per event. Writes the events first (in
//! transactions of 100), then starts the relay and consumer and times until the consumer has
//! handled all of them. Run with `make bench`; results go in docs/benchmarks.md.

#![expect(clippy::unwrap_used, reason = "a bench fails loudly on broken set-up")]

use diesel_async::{AsyncConnection, AsyncPgConnection};
use events::v1::ProductDeleted;
use events::{
    Broker, Consumer, ConsumerConfig, Handler, HandlerError, IncomingEvent, Relay, RelayConfig,
};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use testkit::{MigrationSource, TestBroker, TestDb};
use tokio_util::sync::CancellationToken;

const EVENTS: u64 = 20_000;

struct Count(Arc<AtomicU64>);

impl Handler for Count {
    fn handle<'a>(
        &'a self,
        _: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let _: ProductDeleted = event.decode()?;
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Test runners list every target's tests with `--list`; this bench has none.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let db = TestDb::new(
        "evbench",
        &[MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        }],
    )
    .await;
    let broker = TestBroker::new();
    let amqp = Broker::new(broker.url.clone(), "events-bench");
    let pool = db.pool();
    let shutdown = CancellationToken::new();

    let mut conn = db.conn().await;
    let written = Instant::now();
    for batch in 0..EVENTS / 100 {
        conn.transaction(async |conn: &mut AsyncPgConnection| {
            for i in 0..100 {
                let version = (batch * 100 + i) as i64;
                let event = ProductDeleted {
                    product_id: format!("p-{version}"),
                    version,
                    deleted_at: None,
                };
                events::outbox::publish(conn, &event, None).await?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await
        .unwrap();
    }
    let write_secs = written.elapsed().as_secs_f64();

    let handled = Arc::new(AtomicU64::new(0));
    let mut config = ConsumerConfig::new(
        broker.queue("bench"),
        &broker.exchange,
        &["product.deleted"],
    );
    config.prefetch = 64;
    let consumer = Consumer::new(pool.clone(), amqp.clone(), config, Count(handled.clone()));
    consumer.declare().await.unwrap();

    let started = Instant::now();
    let consumer = tokio::spawn(consumer.run(shutdown.child_token()));
    // Catalog: the producer the event catalog names for product.deleted.
    let relay_config = RelayConfig::new(&db.url, "evbench", &broker.exchange, "catalog");
    let relay = tokio::spawn(
        Relay::new(pool.clone(), amqp.clone(), relay_config).run(shutdown.child_token()),
    );
    let mut relayed_secs = None;
    while handled.load(Ordering::SeqCst) < EVENTS {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "bench timed out"
        );
        if relayed_secs.is_none() && events::outbox::backlog(&mut conn).await.unwrap().0 == 0 {
            relayed_secs = Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let relayed_secs = relayed_secs.unwrap_or(secs);
    shutdown.cancel();
    let _ = relay.await;
    let _ = consumer.await;

    println!(
        "outbox writes: {EVENTS} events in {write_secs:.2}s ({:.0} events/s, 100 per transaction)",
        EVENTS as f64 / write_secs
    );
    println!(
        "relay alone (outbox -> broker, confirmed): {EVENTS} events in {relayed_secs:.2}s = {:.0} events/s",
        EVENTS as f64 / relayed_secs
    );
    println!(
        "outbox -> relay -> consumer: {EVENTS} events in {secs:.2}s = {:.0} events/s (one relay, one consumer, prefetch 64)",
        EVENTS as f64 / secs
    );
}
