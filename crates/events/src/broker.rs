//! The RabbitMQ connection of a service: opened lazily, reopened after the broker drops it,
//! and the topology (exchange, queues, bindings) declared from one place.

use futures_util::future::BoxFuture;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::sync::Arc;
use tokio::sync::Mutex;

/// A lazily (re)connected broker connection shared by a service's relay and consumers.
pub struct Broker {
    url: String,
    name: String,
    connection: Mutex<Option<Arc<Connection>>>,
}

impl Broker {
    /// `name` shows in RabbitMQ's connection list (the service name).
    pub fn new(url: impl Into<String>, name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            url: url.into(),
            name: name.into(),
            connection: Mutex::new(None),
        })
    }

    /// The live connection, opening a new one if there is none or the last one died.
    pub async fn connection(&self) -> lapin::Result<Arc<Connection>> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref()
            && conn.status().connected()
        {
            return Ok(conn.clone());
        }
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(self.name.as_str()));
        let conn = Arc::new(Connection::connect(&self.url, properties).await?);
        tracing::info!(name = %self.name, "connected to RabbitMQ");
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// A new channel on the live connection.
    pub async fn channel(&self) -> lapin::Result<Channel> {
        self.connection().await?.create_channel().await
    }
}

/// `/health` check: the broker accepts a connection.
pub struct BrokerCheck(pub Arc<Broker>);

impl platform::health::HealthCheck for BrokerCheck {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0
                .connection()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// Declares the durable topic exchange events are published to.
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> lapin::Result<()> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
}

/// The names of a consumer's three queues.
#[derive(Debug, Clone)]
pub struct QueueNames {
    /// Bound to the exchange; quorum, durable.
    pub main: String,
    /// Holds a failed message for its backoff delay, then dead-letters it back to `main`.
    pub retry: String,
    /// Where a message goes after its last attempt, for on-call to inspect and replay.
    pub dead: String,
}

impl QueueNames {
    pub fn for_queue(queue: &str) -> Self {
        Self {
            main: queue.into(),
            retry: format!("{queue}.retry"),
            dead: format!("{queue}.dlq"),
        }
    }
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in entries {
        table.insert(ShortString::from(*key), value.clone());
    }
    table
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

/// Declares a consumer's queues and binds the main one to `routing_keys` on `exchange`.
/// Idempotent: every consumer declares its topology each time it (re)connects.
pub async fn declare_consumer_topology(
    channel: &Channel,
    exchange: &str,
    names: &QueueNames,
    routing_keys: &[String],
) -> lapin::Result<()> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    declare_exchange(channel, exchange).await?;
    channel
        .queue_declare(
            names.dead.as_str().into(),
            durable,
            table(&[("x-queue-type", text("quorum"))]),
        )
        .await?;
    // A message the broker itself gives up on (redelivered too often, e.g. it crashes the
    // consumer each time) still ends in the dead-letter queue, never lost.
    channel
        .queue_declare(
            names.main.as_str().into(),
            durable,
            table(&[
                ("x-queue-type", text("quorum")),
                ("x-dead-letter-exchange", text("")),
                ("x-dead-letter-routing-key", text(&names.dead)),
                ("x-delivery-limit", AMQPValue::LongInt(20)),
            ]),
        )
        .await?;
    // Classic, because it relies on per-message expiry: an expired message is dead-lettered
    // back to the main queue through the default exchange.
    channel
        .queue_declare(
            names.retry.as_str().into(),
            durable,
            table(&[
                ("x-queue-type", text("classic")),
                ("x-dead-letter-exchange", text("")),
                ("x-dead-letter-routing-key", text(&names.main)),
            ]),
        )
        .await?;
    for key in routing_keys {
        channel
            .queue_bind(
                names.main.as_str().into(),
                exchange.into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}
