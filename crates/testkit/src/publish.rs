//! Playing another service in a test: publishing the events a service consumes, as their
//! producer would (message id = event id, protobuf type and content type set), once the
//! service's consumer is listening.

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::Duration;
use uuid::Uuid;

/// Publishes `message` as event `name` (protobuf type `message_type`) on `exchange`; returns
/// the event id (`id`, or a new one), so a test can send the same message again.
#[expect(clippy::expect_used, reason = "test set-up")]
pub async fn publish_event<M: prost::Message>(
    url: &str,
    exchange: &str,
    name: &str,
    message_type: &str,
    message: &M,
    id: Option<Uuid>,
) -> Uuid {
    let id = id.unwrap_or_else(Uuid::now_v7);
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ");
    let channel = conn.create_channel().await.expect("open a channel");
    let properties = BasicProperties::default()
        .with_message_id(id.to_string().into())
        .with_type(message_type.into())
        .with_content_type("application/x-protobuf".into())
        .with_delivery_mode(2);
    channel
        .basic_publish(
            exchange.into(),
            name.into(),
            BasicPublishOptions::default(),
            &message.encode_to_vec(),
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("broker confirm");
    id
}

/// Waits until `queue` has a consumer: events published before it is bound would be lost.
#[expect(clippy::expect_used, reason = "test set-up")]
pub async fn wait_for_consumer(url: &str, queue: &str) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ");
    let conn = &conn;
    crate::wait_for(
        "a consumer on the queue",
        Duration::from_secs(20),
        || async move {
            let options = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            // A failed passive declare closes its channel: use a fresh one each time.
            let Ok(probe) = conn.create_channel().await else {
                return false;
            };
            probe
                .queue_declare(queue.into(), options, FieldTable::default())
                .await
                .is_ok_and(|q| q.consumer_count() > 0)
        },
    )
    .await;
}
