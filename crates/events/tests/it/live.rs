//! The consumer without an inbox (`LiveConsumer`, realtime's): retries through the retry
//! queue, the dead-letter queue after `max_attempts`, producers checked before the handler,
//! a redelivery handled again, `/health`'s state and a prompt stop.

use crate::consumer::{from_producer, next_dead_letter};
use crate::support::{TIMEOUT, product_deleted};
use events::v1::ProductDeleted;
use events::{
    Broker, BrokerCheck, ConsumerConfig, HandlerError, IncomingEvent, LiveConsumer, LiveHandler,
};
use futures_util::future::BoxFuture;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use platform::health::HealthCheck;
use prost::Message;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::TestBroker;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Keeps every version it handled; fails `fail_first` attempts of each event, and every
/// attempt at `poison_version`.
#[derive(Clone, Default)]
struct Seen {
    fail_first: u32,
    poison_version: Option<i64>,
    calls: Arc<AtomicU32>,
    handled: Arc<Mutex<Vec<(uuid::Uuid, i64)>>>,
}

impl Seen {
    fn handled(&self) -> Vec<(uuid::Uuid, i64)> {
        self.handled.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<(uuid::Uuid, i64)> {
        testkit::wait_for_value(&format!("{count} events handled"), TIMEOUT, || async {
            let handled = self.handled();
            (handled.len() >= count).then_some(handled)
        })
        .await
    }
}

impl LiveHandler for Seen {
    fn handle<'a>(&'a self, event: &'a IncomingEvent) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let message: ProductDeleted = event.decode()?;
            if Some(message.version) == self.poison_version {
                return Err(HandlerError::Transient("poisoned".into()));
            }
            if event.attempts < self.fail_first {
                return Err(HandlerError::Transient(format!(
                    "flaky attempt {}",
                    event.attempts
                )));
            }
            self.handled
                .lock()
                .unwrap()
                .push((event.id, message.version));
            Ok(())
        })
    }
}

/// One live consumer of a queue of the test's own, bound to `product.deleted`.
struct Live {
    broker: TestBroker,
    queue: String,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Live {
    async fn start(handler: Seen, max_attempts: u32) -> Self {
        let broker = TestBroker::new();
        let queue = broker.queue("live");
        let mut config = ConsumerConfig::new(&queue, &broker.exchange, &["product.deleted"]);
        config.max_attempts = max_attempts;
        config.retry_delay = Duration::from_millis(50);
        config.max_retry_delay = Duration::from_millis(200);
        let amqp = Broker::new(broker.url.clone(), "live-test");
        let shutdown = CancellationToken::new();
        let consumer = LiveConsumer::new(amqp, config, handler);
        let task = tokio::spawn(consumer.run(shutdown.child_token()));
        testkit::wait_for_consumer(&broker.url, &queue).await;
        Self {
            broker,
            queue,
            shutdown,
            task,
        }
    }

    /// Publishes `product.deleted` of `version` with `properties`.
    async fn publish(&self, version: i64, properties: BasicProperties) {
        let conn = Connection::connect(&self.broker.url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        channel.confirm_select(Default::default()).await.unwrap();
        channel
            .basic_publish(
                self.broker.exchange.as_str().into(),
                "product.deleted".into(),
                BasicPublishOptions::default(),
                &product_deleted(version).encode_to_vec(),
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        conn.close(200, "done".into()).await.unwrap();
    }

    /// As catalog, the producer the catalog names for `product.deleted`; answers the id.
    async fn publish_as_catalog(&self, version: i64) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        self.publish(version, from_producer(id, "catalog")).await;
        id
    }

    async fn dead_letter(&self) -> lapin::message::BasicGetMessage {
        let conn = Connection::connect(&self.broker.url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        next_dead_letter(&channel, &self.queue).await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the consumer stops")
            .unwrap();
    }
}

fn header<'a>(message: &'a lapin::message::BasicGetMessage, name: &str) -> Option<&'a AMQPValue> {
    message
        .delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get(&ShortString::from(name))
}

#[tokio::test]
async fn a_failing_event_is_retried_through_the_retry_queue_until_it_is_handled() {
    let seen = Seen {
        fail_first: 2,
        ..Seen::default()
    };
    let live = Live::start(seen.clone(), 5).await;
    let id = live.publish_as_catalog(1).await;
    assert_eq!(seen.wait_for(1).await, vec![(id, 1)]);
    assert_eq!(
        seen.calls.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    live.stop().await;
}

#[tokio::test]
async fn without_an_inbox_a_redelivered_event_is_handled_again() {
    let seen = Seen::default();
    let live = Live::start(seen.clone(), 5).await;
    let id = uuid::Uuid::now_v7();
    live.publish(7, from_producer(id, "catalog")).await;
    live.publish(7, from_producer(id, "catalog")).await;
    assert_eq!(seen.wait_for(2).await, vec![(id, 7), (id, 7)]);
    live.stop().await;
}

#[tokio::test]
async fn an_event_failing_every_attempt_is_dead_lettered_and_the_queue_flows_on() {
    let seen = Seen {
        poison_version: Some(666),
        ..Seen::default()
    };
    let live = Live::start(seen.clone(), 3).await;
    live.publish_as_catalog(666).await;
    for version in 1..=3 {
        live.publish_as_catalog(version).await;
    }
    let mut versions: Vec<i64> = seen.wait_for(3).await.into_iter().map(|e| e.1).collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        vec![1, 2, 3],
        "the poisoned event did not hold the queue"
    );
    let dead = live.dead_letter().await;
    assert_eq!(
        ProductDeleted::decode(dead.delivery.data.as_slice())
            .unwrap()
            .version,
        666
    );
    assert_eq!(header(&dead, "x-attempts"), Some(&AMQPValue::LongInt(3)));
    let Some(AMQPValue::LongString(error)) = header(&dead, "x-last-error") else {
        panic!("no x-last-error header");
    };
    assert_eq!(String::from_utf8_lossy(error.as_bytes()), "poisoned");
    live.stop().await;
}

#[tokio::test]
async fn an_event_from_a_producer_the_catalog_does_not_name_never_reaches_the_handler() {
    let seen = Seen::default();
    let live = Live::start(seen.clone(), 5).await;
    // `product.deleted` is catalog's; orders claiming it is refused.
    let forged = uuid::Uuid::now_v7();
    live.publish(1, from_producer(forged, "orders")).await;
    let dead = live.dead_letter().await;
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str()),
        Some(forged.to_string().as_str())
    );
    // Undecodable: straight to the dead letters too, tried once.
    live.publish(2, {
        let mut properties = from_producer(uuid::Uuid::now_v7(), "catalog");
        properties = properties.with_message_id("not-a-uuid".into());
        properties
    })
    .await;
    live.dead_letter().await;
    let id = live.publish_as_catalog(3).await;
    assert_eq!(seen.wait_for(1).await, vec![(id, 3)]);
    assert_eq!(
        seen.calls.load(Ordering::SeqCst),
        1,
        "only the genuine event was handled"
    );
    live.stop().await;
}

#[tokio::test]
async fn health_is_ready_only_while_the_consumer_is_attached_and_it_stops_promptly() {
    let broker = TestBroker::new();
    let queue = broker.queue("live");
    let amqp = Broker::new(broker.url.clone(), "live-test");
    let consumer = LiveConsumer::new(
        Arc::clone(&amqp),
        ConsumerConfig::new(&queue, &broker.exchange, &["product.deleted"]),
        Seen::default(),
    );
    let check = BrokerCheck(Arc::clone(&amqp));
    assert!(check.check().await.is_err(), "registered, not attached yet");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consumer.run(shutdown.child_token()));
    testkit::wait_for("the consumer attached", TIMEOUT, || {
        let check = &check;
        async move { check.check().await.is_ok() }
    })
    .await;
    let started = std::time::Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the consumer stops")
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}
