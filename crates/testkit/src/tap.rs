//! Listening in on a test's exchange: every event published to it is collected, so a test
//! can assert what a service published.

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One event as it arrived.
#[derive(Debug, Clone)]
pub struct TappedEvent {
    pub name: String,
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub correlation_id: Option<String>,
    pub payload: Vec<u8>,
}

impl TappedEvent {
    /// Decodes the payload as `M`.
    #[expect(clippy::expect_used, reason = "a test wants the failure loudly")]
    pub fn decode<M: prost::Message + Default>(&self) -> M {
        M::decode(self.payload.as_slice()).expect("decode the event payload")
    }
}

/// Collects every event on an exchange from the moment it is created.
pub struct EventTap {
    events: Arc<Mutex<Vec<TappedEvent>>>,
    _connection: Connection,
}

impl EventTap {
    /// Binds a private, exclusive queue to everything (`#`) on `exchange`.
    #[expect(clippy::expect_used, reason = "test set-up")]
    pub async fn new(url: &str, exchange: &str) -> Self {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("open a channel");
        channel
            .exchange_declare(
                exchange.into(),
                lapin::ExchangeKind::Topic,
                lapin::options::ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare the exchange");
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
            .expect("declare the tap queue");
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the tap queue");
        let mut consumer = channel
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
            .expect("consume the tap queue");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                let props = &delivery.properties;
                let event = TappedEvent {
                    name: delivery.routing_key.as_str().to_owned(),
                    message_id: props.message_id().as_ref().map(|v| v.as_str().to_owned()),
                    message_type: props.kind().as_ref().map(|v| v.as_str().to_owned()),
                    correlation_id: props
                        .correlation_id()
                        .as_ref()
                        .map(|v| v.as_str().to_owned()),
                    payload: delivery.data.clone(),
                };
                if let Ok(mut events) = sink.lock() {
                    events.push(event);
                }
            }
        });
        Self {
            events,
            _connection: connection,
        }
    }

    /// Every event named `name` so far.
    pub fn named(&self, name: &str) -> Vec<TappedEvent> {
        self.events
            .lock()
            .map(|events| events.iter().filter(|e| e.name == name).cloned().collect())
            .unwrap_or_default()
    }

    /// Waits (up to 15 s) for the `n`-th event named `name` (1-based) and returns it.
    pub async fn nth(&self, name: &str, n: usize) -> TappedEvent {
        crate::wait_for_value(
            &format!("event {name} #{n}"),
            Duration::from_secs(15),
            || async { self.named(name).into_iter().nth(n - 1) },
        )
        .await
    }

    /// Waits for the first event named `name` whose decoded message satisfies `matches`.
    pub async fn find<M, F>(&self, name: &str, matches: F) -> M
    where
        M: prost::Message + Default,
        F: Fn(&M) -> bool,
    {
        crate::wait_for_value(
            &format!("a matching {name} event"),
            Duration::from_secs(15),
            || async {
                self.named(name)
                    .iter()
                    .map(TappedEvent::decode::<M>)
                    .find(|m| matches(m))
            },
        )
        .await
    }

    /// Waits for the first event named `name`.
    pub async fn first(&self, name: &str) -> TappedEvent {
        self.nth(name, 1).await
    }
}
