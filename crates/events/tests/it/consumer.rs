//! The consumer: duplicates, retries and the dead-letter queue.

use crate::support::{Bus, Recorder, TIMEOUT, product_deleted};
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message;
use std::sync::atomic::Ordering;

/// What the relay sends: the event id, the `producer` header and the broker user as `user_id`
/// (the tests' shared user).
pub fn from_producer(id: uuid::Uuid, producer: &str) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(LongString::from(producer)),
    );
    BasicProperties::default()
        .with_message_id(ShortString::from(id.to_string()))
        .with_user_id(ShortString::from(testkit_user()))
        .with_headers(headers)
}

/// The broker user of the tests' AMQP URL.
pub fn testkit_user() -> String {
    events::Broker::new(testkit::amqp_url(), "user")
        .user()
        .to_owned()
}

async fn publish_raw(bus: &Bus, id: uuid::Uuid, version: i64) {
    publish_with(bus, version, from_producer(id, "catalog")).await;
}

/// Publishes `product.deleted` of `version` with `properties` on the bus's exchange.
pub async fn publish_with(bus: &Bus, version: i64, properties: BasicProperties) {
    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    channel
        .basic_publish(
            bus.broker.exchange.as_str().into(),
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

/// Takes the next message from `queue`'s dead-letter queue, waiting for one to arrive.
pub async fn next_dead_letter(
    channel: &lapin::Channel,
    queue: &str,
) -> lapin::message::BasicGetMessage {
    testkit::wait_for_value("a dead letter", TIMEOUT, || async {
        channel
            .basic_get(
                format!("{queue}.dlq").into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn the_same_event_delivered_twice_changes_state_once() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;

    let id = uuid::Uuid::now_v7();
    publish_raw(&bus, id, 7).await;
    publish_raw(&bus, id, 7).await;
    // One consumer handles its queue in order: the marker arrives after both copies.
    publish_raw(&bus, uuid::Uuid::now_v7(), 8).await;

    let versions = bus.wait_for_versions(2).await;
    assert_eq!(versions, vec![7, 8]);
    bus.stop().await;
}

#[tokio::test]
async fn a_flaky_handler_is_retried_until_it_succeeds_once() {
    let mut bus = Bus::new().await;
    let recorder = Recorder {
        fail_first: 2,
        ..Default::default()
    };
    bus.start_consumer(bus.consumer_config("reader"), recorder.clone())
        .await;
    bus.start_relay();

    bus.publish(1).await;

    assert_eq!(bus.wait_for_versions(1).await, vec![1]);
    assert_eq!(
        recorder.calls.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    bus.stop().await;
}

#[tokio::test]
async fn a_failing_handler_dead_letters_and_later_messages_still_flow() {
    let mut bus = Bus::new().await;
    let recorder = Recorder {
        poison_version: Some(666),
        ..Default::default()
    };
    let mut config = bus.consumer_config("reader");
    config.max_attempts = 3;
    let queue = config.queue.clone();
    bus.start_consumer(config, recorder.clone()).await;
    bus.start_relay();

    bus.publish(666).await;
    for version in 1..=5 {
        bus.publish(version).await;
    }

    let mut versions = bus.wait_for_versions(5).await;
    versions.sort_unstable();
    assert_eq!(
        versions,
        vec![1, 2, 3, 4, 5],
        "the poisoned event did not hold the queue"
    );

    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let dead = next_dead_letter(&channel, &queue).await;
    assert_eq!(
        recorder.poison_calls.load(Ordering::SeqCst),
        3,
        "tried max_attempts times"
    );
    let message = events::v1::ProductDeleted::decode(dead.delivery.data.as_slice()).unwrap();
    assert_eq!(message.version, 666);
    let headers = dead.delivery.properties.headers().clone().unwrap();
    let headers = headers.inner();
    assert_eq!(
        headers.get(&ShortString::from("x-attempts")),
        Some(&AMQPValue::LongInt(3))
    );
    let Some(AMQPValue::LongString(error)) = headers.get(&ShortString::from("x-last-error")) else {
        panic!("no x-last-error header in {headers:?}");
    };
    assert_eq!(String::from_utf8_lossy(error.as_bytes()), "poisoned");
    assert!(
        dead.delivery.properties.message_id().is_some(),
        "the event id is kept for replay"
    );
    conn.close(200, "done".into()).await.unwrap();
    bus.stop().await;
}

#[tokio::test]
async fn an_undecodable_message_goes_straight_to_the_dead_letter_queue() {
    let mut bus = Bus::new().await;
    let recorder = Recorder::default();
    let config = bus.consumer_config("reader");
    let queue = config.queue.clone();
    bus.start_consumer(config, recorder.clone()).await;

    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_publish(
            bus.broker.exchange.as_str().into(),
            "product.deleted".into(),
            BasicPublishOptions::default(),
            b"\xff\xff not protobuf",
            from_producer(uuid::Uuid::now_v7(), "catalog"),
        )
        .await
        .unwrap();
    let dead = next_dead_letter(&channel, &queue).await;
    assert_eq!(dead.delivery.data, b"\xff\xff not protobuf");
    assert_eq!(
        recorder.calls.load(Ordering::SeqCst),
        1,
        "not retried: retrying cannot help"
    );
    conn.close(200, "done".into()).await.unwrap();
    bus.stop().await;
}

#[tokio::test]
async fn an_event_from_a_producer_the_catalog_does_not_name_is_dead_lettered_at_once() {
    let mut bus = Bus::new().await;
    let recorder = Recorder::default();
    let config = bus.consumer_config("reader");
    let queue = config.queue.clone();
    bus.start_consumer(config, recorder.clone()).await;

    // product.deleted is catalog's (proto/README.md); the broker user is the tests' shared
    // one, as it is the consumer's, so the header is what tells them apart here.
    publish_with(&bus, 1, from_producer(uuid::Uuid::now_v7(), "orders")).await;
    let unnamed = BasicProperties::default()
        .with_message_id(ShortString::from(uuid::Uuid::now_v7().to_string()))
        .with_user_id(ShortString::from(testkit_user()));
    publish_with(&bus, 2, unnamed).await;
    publish_with(&bus, 3, from_producer(uuid::Uuid::now_v7(), "catalog")).await;

    // One consumer handles its queue in order: 1 and 2 were settled before 3.
    assert_eq!(bus.wait_for_versions(1).await, vec![3]);
    assert_eq!(
        recorder.calls.load(Ordering::SeqCst),
        1,
        "the handler never saw the refused events"
    );
    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let mut refused = Vec::new();
    for _ in 0..2 {
        let dead = next_dead_letter(&channel, &queue).await;
        let headers = dead.delivery.properties.headers().clone().unwrap();
        let headers = headers.inner();
        assert_eq!(
            headers.get(&ShortString::from("x-attempts")),
            Some(&AMQPValue::LongInt(0)),
            "not retried: retrying cannot help"
        );
        let Some(AMQPValue::LongString(error)) = headers.get(&ShortString::from("x-last-error"))
        else {
            panic!("no x-last-error header in {headers:?}");
        };
        let version = events::v1::ProductDeleted::decode(dead.delivery.data.as_slice())
            .unwrap()
            .version;
        refused.push((
            version,
            String::from_utf8_lossy(error.as_bytes()).into_owned(),
        ));
    }
    refused.sort();
    assert_eq!(
        refused,
        vec![
            (
                1,
                "product.deleted claims producer orders, but the catalog names catalog".to_owned()
            ),
            (2, "product.deleted has no producer header".to_owned()),
        ]
    );
    conn.close(200, "done".into()).await.unwrap();
    bus.stop().await;
}
