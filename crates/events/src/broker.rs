//! The RabbitMQ connection of a service: opened lazily, reopened after the broker drops it,
//! and the topology (exchange, queues, bindings) declared from one place.
//!
//! Each service connects as its own broker user (`deploy/rabbitmq/definitions.json`), which
//! may publish only the events the catalog names it the producer of, and declare and read
//! only its own queues. The exchange itself is declared at deploy time by those definitions:
//! a service user may not configure it, so services only check that it exists (and create it
//! where their user may, as in tests with an exchange of their own). The definitions declare
//! the consumers' queues and bindings too, with the arguments [`declare_consumer_topology`]
//! declares them with (the broker refuses a declaration whose arguments differ).
//!
//! The connection's I/O runs as a task on the runtime it was opened on. It is always opened on
//! the runtime the [`Broker`] was made on (the service's main runtime, which outlives the HTTP
//! workers), whoever asks for it first, and `/health` never opens one: it reads the state the
//! relay and consumers record ([`BrokerCheck`]).

use crate::status::{self, ConsumerState};
use futures_util::future::BoxFuture;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::Mutex;

/// How long opening a connection may take before it counts as failed (a broker that accepts
/// TCP but never answers would otherwise hold every caller for the system's TCP timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A lazily (re)connected broker connection shared by a service's relay and consumers.
pub struct Broker {
    url: String,
    name: String,
    user: String,
    connection: Mutex<Option<Arc<Connection>>>,
    /// Where connections are opened, so that their I/O runs there: the runtime `new` was called
    /// on. An actix worker's runtime stops before the relay and consumers do at shutdown; a
    /// connection opened there would die with it and leave them waiting on its channels.
    runtime: Option<Handle>,
    /// The consumers on this connection, for `/health` and the metrics.
    consumers: std::sync::Mutex<Vec<Arc<ConsumerState>>>,
}

impl Broker {
    /// `name` shows in RabbitMQ's connection list (the service name). Call it on the runtime
    /// that runs the relay and consumers: their connection is opened there.
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
            runtime: Handle::try_current().ok(),
            consumers: std::sync::Mutex::new(Vec::new()),
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
        let url = self.url.clone();
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(self.name.as_str()));
        // lapin spawns the connection's I/O on the runtime `connect` runs on.
        let connect = async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&url, properties)).await
            {
                Ok(connected) => connected,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {}s", CONNECT_TIMEOUT.as_secs()),
                )
                .into()),
            }
        };
        let opened = match &self.runtime {
            Some(runtime) => runtime
                .spawn(connect)
                .await
                .map_err(|err| lapin::Error::from(std::io::Error::other(err.to_string())))?,
            None => connect.await,
        };
        let conn = Arc::new(opened?);
        tracing::info!(name = %self.name, "connected to RabbitMQ");
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// A new channel on the live connection.
    pub async fn channel(&self) -> lapin::Result<Channel> {
        self.connection().await?.create_channel().await
    }

    /// Whether the connection is open, without waiting or connecting: `None` while another
    /// task is opening it.
    pub(crate) fn is_connected(&self) -> Option<bool> {
        self.connection
            .try_lock()
            .ok()
            .map(|slot| slot.as_ref().is_some_and(|conn| conn.status().connected()))
    }

    /// Records a consumer of `queue` on this connection (detached until it first attaches).
    pub(crate) fn register_consumer(&self, queue: &str) -> Arc<ConsumerState> {
        let state = Arc::new(ConsumerState::new(queue));
        if let Ok(mut consumers) = self.consumers.lock() {
            consumers.push(state.clone());
        }
        state
    }

    pub(crate) fn consumers(&self) -> Vec<Arc<ConsumerState>> {
        self.consumers
            .lock()
            .map(|consumers| consumers.clone())
            .unwrap_or_default()
    }
}

/// `/health` check of the event bus: every consumer attached to its queue. It only reads what
/// the consumers record; it never opens a connection itself. Ready (healthy) when every
/// consumer consumes; otherwise degraded, with each consumer's state and how long it has gone
/// without consuming (its lag).
pub struct BrokerCheck(pub Arc<Broker>);

impl platform::health::HealthCheck for BrokerCheck {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let outcome = status::outcome(&self.0);
            match outcome.error {
                None => Ok(()),
                Some(error) => Err(error),
            }
        })
    }

    fn outcome(&self) -> BoxFuture<'_, platform::health::Outcome> {
        Box::pin(async move { status::outcome(&self.0) })
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

/// A consumer's three queues as it declares them (durable, never auto-deleted): each name and
/// its arguments. The broker definitions declare the same at deploy time; the broker refuses
/// (PRECONDITION_FAILED) a declaration whose arguments differ from the queue's, so the two must
/// agree (a test compares them, and `deploy/rabbitmq/check-definitions.py` restates them).
pub fn queue_declarations(names: &QueueNames) -> [(String, FieldTable); 3] {
    [
        (
            names.dead.clone(),
            table(&[("x-queue-type", text("quorum"))]),
        ),
        // A message the broker itself gives up on (redelivered too often, e.g. it crashes the
        // consumer each time) still ends in the dead-letter queue, never lost.
        (
            names.main.clone(),
            table(&[
                ("x-queue-type", text("quorum")),
                ("x-dead-letter-exchange", text("")),
                ("x-dead-letter-routing-key", text(&names.dead)),
                ("x-delivery-limit", AMQPValue::LongInt(DELIVERY_LIMIT)),
            ]),
        ),
        // Classic, because it relies on per-message expiry: an expired message is
        // dead-lettered back to the main queue through the default exchange.
        (
            names.retry.clone(),
            table(&[
                ("x-queue-type", text("classic")),
                ("x-dead-letter-exchange", text("")),
                ("x-dead-letter-routing-key", text(&names.main)),
            ]),
        ),
    ]
}

/// Deliveries of one message before the broker dead-letters it by itself.
const DELIVERY_LIMIT: i32 = 20;

/// Declares a consumer's queues and binds the main one to `routing_keys` on `exchange`, which
/// must exist ([`ensure_exchange`]). Idempotent: every consumer declares its topology each
/// time it (re)connects, which changes nothing where the definitions declared it already.
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
    for (queue, arguments) in queue_declarations(names) {
        channel
            .queue_declare(queue.as_str().into(), durable, arguments)
            .await?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::QUEUES;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    fn json(arguments: &FieldTable) -> Value {
        arguments
            .inner()
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    AMQPValue::LongString(text) => {
                        Value::from(String::from_utf8_lossy(text.as_bytes()).into_owned())
                    }
                    AMQPValue::LongInt(number) => Value::from(*number),
                    other => panic!("{key}: {other:?} has no JSON form here"),
                };
                (key.as_str().to_owned(), value)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// The broker definitions declare every queue of the consumers exactly as the consumers
    /// do (or a consumer's declaration would fail with PRECONDITION_FAILED), and bind exactly
    /// the events each consumes.
    #[test]
    fn the_definitions_declare_every_queue_as_its_consumer_does() {
        let definitions: Value =
            serde_json::from_str(include_str!("../../../deploy/rabbitmq/definitions.json"))
                .unwrap();
        let declared: BTreeMap<&str, &Value> = definitions["queues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|queue| (queue["name"].as_str().unwrap(), queue))
            .collect();
        let mut expected_bindings = BTreeSet::new();
        for queue in QUEUES {
            for (name, arguments) in queue_declarations(&QueueNames::for_queue(queue.name)) {
                let Some(entry) = declared.get(name.as_str()) else {
                    panic!("definitions.json does not declare {name}");
                };
                assert_eq!(entry["vhost"], "/", "{name}");
                assert_eq!(entry["durable"], true, "{name}");
                assert_eq!(entry["auto_delete"], false, "{name}");
                assert_eq!(entry["arguments"], json(&arguments), "arguments of {name}");
            }
            for key in queue.bindings {
                expected_bindings.insert((queue.name.to_owned(), (*key).to_owned()));
            }
        }
        assert_eq!(declared.len(), 3 * QUEUES.len(), "no queue of nobody's");
        let bindings: BTreeSet<(String, String)> = definitions["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|binding| {
                assert_eq!(binding["source"], crate::DEFAULT_EXCHANGE);
                assert_eq!(binding["destination_type"], "queue");
                assert_eq!(binding["vhost"], "/");
                (
                    binding["destination"].as_str().unwrap().to_owned(),
                    binding["routing_key"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(bindings, expected_bindings);
    }
}
