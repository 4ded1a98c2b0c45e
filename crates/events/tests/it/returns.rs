//! The relay publishes `mandatory`: an event the broker cannot route (no queue bound yet, as on
//! a fresh broker whose producer started before its consumer) stays in the outbox and goes once
//! a queue is bound, and it never holds up the events behind it.

use crate::support::{Bus, Recorder};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use events::v1::DeliveryArriving;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use std::time::Duration;

/// Writes `delivery.arriving`, which no queue of the deployment consumes yet.
async fn publish_unconsumed(bus: &Bus) -> uuid::Uuid {
    let mut conn = bus.db.conn().await;
    conn.transaction(async |conn: &mut AsyncPgConnection| {
        events::outbox::publish(conn, &DeliveryArriving::default(), None).await
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_no_queue_is_bound_for_stays_in_the_outbox_until_one_is() {
    let mut bus = Bus::new().await;
    // The producer first, on an exchange no queue is bound to.
    bus.start_relay();
    bus.publish(1).await;
    bus.publish(2).await;
    publish_unconsumed(&bus).await;
    // Several sweeps: the broker returns both product.deleted every time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        bus.unsent().await,
        2,
        "the events orders consumes are kept; the one nothing consumes yet is not"
    );

    // Its consumer comes: the held events reach it, once each.
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    assert_eq!(bus.wait_for_versions(2).await, vec![1, 2]);
    testkit::wait_for("the outbox to be sent", crate::support::TIMEOUT, || async {
        bus.unsent().await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bus.effects().await.len(), 2, "each applied once");
    bus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_events_do_not_hold_up_the_events_behind_them() {
    let mut bus = Bus::new().await;
    // A queue for delivery.arriving only: product.deleted has none.
    let conn = Connection::connect(&bus.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    events::broker::ensure_exchange(&bus.amqp, &bus.exchange)
        .await
        .unwrap();
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.name().clone(),
            bus.exchange.as_str().into(),
            "delivery.arriving".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut received = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    // More held rows than a batch (the test relay's is 50), then one that can go.
    for version in 0..60 {
        bus.publish(version).await;
    }
    let behind = publish_unconsumed(&bus).await;
    bus.start_relay();
    let delivery = tokio::time::timeout(crate::support::TIMEOUT, received.next())
        .await
        .expect("the routable event went out")
        .unwrap()
        .unwrap();
    assert_eq!(
        delivery.properties.message_id().as_ref().unwrap().as_str(),
        behind.to_string()
    );
    assert_eq!(bus.unsent().await, 60, "the held ones wait");
    conn.close(200, "done".into()).await.unwrap();
    bus.stop().await;
}
