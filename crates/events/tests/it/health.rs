//! The event bus's `/health` check: ready only while every consumer is attached to its queue,
//! degraded with each consumer's state and lag otherwise, and never a connection of its own.

use crate::support::{Bus, Recorder, TIMEOUT};
use events::{Broker, BrokerCheck, Consumer};
use platform::health::{HealthCheck, Outcome, Status};
use std::time::Duration;

async fn outcome(broker: &std::sync::Arc<Broker>) -> Outcome {
    BrokerCheck(broker.clone()).outcome().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_check_is_ready_only_while_every_consumer_is_attached() {
    let mut bus = Bus::new().await;
    let check = BrokerCheck(bus.amqp.clone());
    assert_eq!(check.name(), "rabbitmq");
    assert_eq!(
        outcome(&bus.amqp).await.status,
        Status::Healthy,
        "no consumer"
    );

    let config = bus.consumer_config("reader");
    let queue = config.queue.clone();
    bus.start_consumer(config, Recorder::default()).await;
    let attached = testkit::wait_for_value("the consumer to attach", TIMEOUT, || async {
        let outcome = outcome(&bus.amqp).await;
        (outcome.status == Status::Healthy).then_some(outcome)
    })
    .await;
    let details = attached.details.unwrap();
    assert_eq!(details["connection"], "open");
    assert_eq!(details["consumers"][0]["queue"], queue.as_str());
    assert_eq!(details["consumers"][0]["state"], "attached");
    assert_eq!(details["consumers"][0]["lagSeconds"], 0.0);
    assert_eq!(check.check().await, Ok(()));

    // A second consumer that is not running yet: the service is not ready.
    let late = Consumer::new(
        bus.pool.clone(),
        bus.amqp.clone(),
        bus.consumer_config("late"),
        Recorder::default(),
    );
    let degraded = outcome(&bus.amqp).await;
    assert_eq!(degraded.status, Status::Degraded);
    let error = degraded.error.unwrap();
    assert!(error.contains(".late starting for"), "{error}");
    assert!(
        !error.contains(".reader"),
        "the attached one is fine: {error}"
    );
    assert!(check.check().await.is_err());
    drop(late);
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_cannot_reach_the_broker_is_reported_with_its_lag_and_error() {
    let bus = Bus::new().await;
    let unreachable = Broker::new("amqp://guest:guest@127.0.0.1:9/%2f", "health-test");
    let consumer = Consumer::new(
        bus.pool.clone(),
        unreachable.clone(),
        bus.consumer_config("reader"),
        Recorder::default(),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let degraded = testkit::wait_for_value("the consumer's error", TIMEOUT, || async {
        let outcome = outcome(&unreachable).await;
        let consumer = &outcome.details.as_ref().unwrap()["consumers"][0];
        (consumer["lastError"].is_string() && consumer["lagSeconds"].as_f64() >= Some(0.2))
            .then_some(outcome)
    })
    .await;
    assert_eq!(degraded.status, Status::Degraded);
    let details = degraded.details.unwrap();
    assert_eq!(details["connection"], "closed");
    assert_eq!(details["consumers"][0]["state"], "starting");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("the consumer stops at once")
        .unwrap();
    bus.stop().await;
}

/// `/health` runs on an HTTP worker's runtime: a connection opened there dies with the worker
/// at shutdown (and the relay and consumers with it). The check only reads what the consumers
/// recorded.
#[tokio::test]
async fn the_broker_check_never_opens_a_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("amqp://guest:guest@{}/%2f", listener.local_addr().unwrap());
    let broker = Broker::new(url, "health-test");
    let check = BrokerCheck(broker.clone());
    for _ in 0..3 {
        let outcome = check.outcome().await;
        assert_eq!(outcome.details.unwrap()["connection"], "closed");
        let _ = check.check().await;
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the check connected to the broker");
}
