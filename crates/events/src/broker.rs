//! The RabbitMQ connection of a service: opened lazily, reopened after the broker drops it,
//! and the topology (exchange, queues, bindings) declared from one place.
//!
//! Each service connects as its own broker user (`deploy/rabbitmq/definitions.json`), which
//! may publish only the events the catalog names it the producer of, and declare and read
//! only its own queues. The exchange itself is declared at deploy time by those definitions:
//! a service user may not configure it, so services only check that it exists (and create it
//! where their user may, as in tests with an exchange of their own).

use futures_util::future::BoxFuture;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::sync::Arc;
use tokio::sync::Mutex;

/// A lazily (re)connected broker connection shared by a service's relay and consumers.
pub struct Broker {
    url: String,
    name: String,
    user: String,
    connection: Mutex<Option<Arc<Connection>>>,
}

impl Broker {
    /// `name` shows in RabbitMQ's connection list (the service name).
    pub fn new(url: impl Into<String>, name: impl Into<String>) -> Arc<Self> {
        let url = url.into();
        // An unparsable URL fails at connect, with the parser's message; until then the user
        // is AMQP's default, as it would be for a URL without one.
        let user = url
            .parse::<AMQPUri>()
            .map(|uri| uri.authority.userinfo.username)
            .unwrap_or_else(|_| AMQPUri::default().authority.userinfo.username);
        Arc::new(Self {
            url,
            name: name.into(),
            user,
            connection: Mutex::new(None),
        })
    }

    /// The broker user this service connects as (from the URL; `guest` when it names none).
    /// Published events carry it as the AMQP `user_id`, which the broker checks against the
    /// connection's user, so a consumer can tell who really published an event.
    pub fn user(&self) -> &str {
        &self.user
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

/// Makes sure the durable topic exchange events are published to exists. A passive declare
/// needs no permission, so a service user that may not configure the exchange (it is declared
/// by the broker definitions at deploy time) passes when it exists; only when it is missing is
/// it declared, which succeeds where the user may (tests, a development broker) and otherwise
/// fails with the broker's ACCESS_REFUSED, naming the missing exchange.
///
/// Uses channels of its own: a failed passive declare closes its channel.
pub async fn ensure_exchange(broker: &Broker, exchange: &str) -> lapin::Result<()> {
    let probe = broker.channel().await?;
    let exists = probe
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    match exists {
        Ok(()) => {
            let _ = probe.close(200, ShortString::from("exchange exists")).await;
            Ok(())
        }
        Err(err) if not_found(&err) => {
            let channel = broker.channel().await?;
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
                .await?;
            let _ = channel
                .close(200, ShortString::from("exchange declared"))
                .await;
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Whether the broker answered NOT_FOUND (404), e.g. to a passive declare.
fn not_found(err: &lapin::Error) -> bool {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    matches!(
        err.kind(),
        lapin::ErrorKind::ProtocolError(error)
            if matches!(error.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
    )
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

/// Declares a consumer's queues and binds the main one to `routing_keys` on `exchange`, which
/// must exist ([`ensure_exchange`]). Idempotent: every consumer declares its topology each
/// time it (re)connects.
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
