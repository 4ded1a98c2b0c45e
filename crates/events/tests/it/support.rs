//! A bus for one test: its own database (outbox, inbox and an `effects` table the handler
//! writes), its own exchange and queues, relays and consumers that stop with the test.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use events::v1::ProductDeleted;
use events::{
    Broker, Consumer, ConsumerConfig, Handler, HandlerError, IncomingEvent, Relay, RelayConfig,
};
use futures_util::future::BoxFuture;
use platform::db::DbPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use testkit::{MigrationSource, TestBroker, TestDb};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const TIMEOUT: Duration = Duration::from_secs(30);

diesel::table! {
    effects (id) {
        id -> Int8,
        event_id -> Uuid,
        product_id -> Text,
        version -> Int8,
        correlation_id -> Nullable<Text>,
        producer -> Nullable<Text>,
    }
}

pub struct Bus {
    pub db: TestDb,
    pub broker: TestBroker,
    /// Where relays publish and consumers bind: the test's own exchange unless a test
    /// changes it (the definitions tests use the real name, in a vhost of their own).
    pub exchange: String,
    pub pool: DbPool,
    pub amqp: Arc<Broker>,
    pub connection_name: String,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Bus {
    pub async fn new() -> Self {
        let db = TestDb::new(
            "evtest",
            &[MigrationSource {
                embedded: &events::MIGRATIONS,
                dir: events::MIGRATIONS_DIR,
            }],
        )
        .await;
        let mut conn = db.conn().await;
        diesel::sql_query(
            "CREATE TABLE effects (id bigserial PRIMARY KEY, event_id uuid NOT NULL, product_id text NOT NULL, \
             version bigint NOT NULL, correlation_id text, producer text)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let broker = TestBroker::new();
        let connection_name = format!("events-test-{}", uuid::Uuid::new_v4().simple());
        let amqp = Broker::new(broker.url.clone(), connection_name.clone());
        let pool = db.pool();
        Self {
            db,
            exchange: broker.exchange.clone(),
            broker,
            pool,
            amqp,
            connection_name,
            shutdown: CancellationToken::new(),
            tasks: Vec::new(),
        }
    }

    /// A relay publishing as catalog, the producer the catalog names for `product.deleted`.
    pub fn relay_config(&self) -> RelayConfig {
        let mut config = RelayConfig::new(&self.db.url, "evtest", &self.exchange, "catalog");
        config.sweep_interval = Duration::from_millis(200);
        config.batch_size = 50;
        config
    }

    pub fn start_relay(&mut self) {
        self.start_relay_as(self.amqp.clone());
    }

    /// A relay on a connection of the caller's (another broker user).
    pub fn start_relay_as(&mut self, amqp: Arc<Broker>) {
        let relay = Relay::new(self.pool.clone(), amqp, self.relay_config());
        self.tasks
            .push(tokio::spawn(relay.run(self.shutdown.child_token())));
    }

    pub fn consumer_config(&self, name: &str) -> ConsumerConfig {
        let mut config = ConsumerConfig::new(
            self.broker.queue(name),
            &self.exchange,
            &["product.deleted"],
        );
        config.retry_delay = Duration::from_millis(50);
        config.max_retry_delay = Duration::from_millis(200);
        config
    }

    /// Declares the queue first, so nothing published afterwards is missed.
    pub async fn start_consumer<H: Handler>(&mut self, config: ConsumerConfig, handler: H) {
        self.start_consumer_as(self.amqp.clone(), config, handler)
            .await;
    }

    /// A consumer on a connection of the caller's (another broker user).
    pub async fn start_consumer_as<H: Handler>(
        &mut self,
        amqp: Arc<Broker>,
        config: ConsumerConfig,
        handler: H,
    ) {
        let consumer = Consumer::new(self.pool.clone(), amqp, config, handler);
        consumer.declare().await.unwrap();
        self.tasks
            .push(tokio::spawn(consumer.run(self.shutdown.child_token())));
    }

    /// Writes `event` to the outbox in a committed transaction.
    pub async fn publish(&self, version: i64) -> uuid::Uuid {
        let mut conn = self.db.conn().await;
        conn.transaction(async |conn: &mut AsyncPgConnection| {
            events::outbox::publish(conn, &product_deleted(version), Some("corr-1")).await
        })
        .await
        .unwrap()
    }

    pub async fn effects(&self) -> Vec<(uuid::Uuid, i64, Option<String>, Option<String>)> {
        let mut conn = self.db.conn().await;
        effects::table
            .order(effects::id)
            .select((
                effects::event_id,
                effects::version,
                effects::correlation_id,
                effects::producer,
            ))
            .load(&mut conn)
            .await
            .unwrap()
    }

    pub async fn wait_for_versions(&self, expected: usize) -> Vec<i64> {
        testkit::wait_for_value(&format!("{expected} effects"), TIMEOUT, || async {
            let versions: Vec<i64> = self.effects().await.into_iter().map(|e| e.1).collect();
            (versions.len() >= expected).then_some(versions)
        })
        .await
    }

    pub async fn unsent(&self) -> i64 {
        let mut conn = self.db.conn().await;
        events::outbox::backlog(&mut conn).await.unwrap().0
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("relay and consumers stop on shutdown")
                .unwrap();
        }
    }
}

pub fn product_deleted(version: i64) -> ProductDeleted {
    ProductDeleted {
        product_id: format!("p-{version}"),
        version,
        deleted_at: None,
    }
}

/// Records every event in `effects`; fails (transiently) `fail_first` times per event, and
/// always for `poison_version`.
#[derive(Clone, Default)]
pub struct Recorder {
    pub fail_first: u32,
    pub poison_version: Option<i64>,
    pub calls: Arc<AtomicU32>,
    pub poison_calls: Arc<AtomicU32>,
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let message: ProductDeleted = event.decode()?;
            if Some(message.version) == self.poison_version {
                self.poison_calls.fetch_add(1, Ordering::SeqCst);
                return Err(HandlerError::Transient("poisoned".into()));
            }
            diesel::insert_into(effects::table)
                .values((
                    effects::event_id.eq(event.id),
                    effects::product_id.eq(&message.product_id),
                    effects::version.eq(message.version),
                    effects::correlation_id.eq(&event.correlation_id),
                    effects::producer.eq(&event.producer),
                ))
                .execute(conn)
                .await?;
            if event.attempts < self.fail_first {
                // The effect above is rolled back with the transaction.
                return Err(HandlerError::Transient(format!(
                    "flaky attempt {}",
                    event.attempts
                )));
            }
            Ok(())
        })
    }
}
