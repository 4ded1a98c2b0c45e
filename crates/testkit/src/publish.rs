//! Playing another service in a test: publishing the events a service consumes, as their
//! producer would (message id = event id, protobuf type and content type set, the `producer`
//! header the catalog names and the broker user as `user_id`), once the service's consumer is
//! listening.

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::Duration;
use uuid::Uuid;

/// Publishes `message` as event `name` (protobuf type `message_type`) on `exchange`, from the
/// (first) producer the event catalog names; returns the event id (`id`, or a new one), so a
/// test can send the same message again.
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
    let producer = events::contracts::producers_of(name)
        .and_then(|producers| producers.first())
        .expect("an event of the catalog");
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(LongString::from(*producer)),
    );
    // The broker allows only the connection's own user here; consumers accept it from a
    // broker user they share (tests connect every service as the same user).
    let user = url
        .parse::<AMQPUri>()
        .expect("an AMQP URL")
        .authority
        .userinfo
        .username;
    let properties = BasicProperties::default()
        .with_message_id(id.to_string().into())
        .with_type(message_type.into())
        .with_content_type("application/x-protobuf".into())
        .with_delivery_mode(2)
        .with_user_id(user.into())
        .with_headers(headers);
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
