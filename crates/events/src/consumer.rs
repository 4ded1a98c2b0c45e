//! The consumer: one durable quorum queue per consuming service and purpose, bound to the
//! event names it needs. Each message is handled inside a database transaction that also
//! records `(event id, consumer)` in `processed_events`; the message is acknowledged only
//! after that commits, so a redelivery changes nothing and a crash loses nothing.
//!
//! A failing handler does not block the queue: the message is re-published to
//! `<queue>.retry` with a growing expiry, after which the broker dead-letters it back to the
//! main queue; after `max_attempts` it goes to `<queue>.dlq` with the last error attached.
//!
//! Before any handler sees an event, its publisher is checked: the `producer` header must be
//! a service the event catalog names as the event's producer, and the AMQP `user_id` (which
//! the broker refuses unless it is the publishing connection's own user) must be that
//! producer's broker user, or this consumer's own (its retries, and every event on a broker
//! where all services share one user, as in tests). A service can write into another's queue
//! through the default exchange, which topic permissions do not cover, so the broker's
//! permissions alone do not stop a forged event; this check does. A refused event goes to the
//! dead-letter queue at once, like an undecodable one, and counts in
//! `events_producer_refused_total`.
//!
//! Each consumer records whether it is attached to its queue (`crate::status`): `/health`
//! is ready only while every consumer is, and the metrics say, per queue, how long each has
//! gone without. After a broker restart it reattaches within [`Backoff::CAP`], jittered.
//! Shutdown is prompt whatever the broker does: the message in hand gets [`IN_HAND_GRACE`] to
//! finish (unacked, it goes back to the queue otherwise) and the channels
//! [`CLOSE_TIMEOUT`] to close.

use crate::broker::{Broker, QueueNames, declare_consumer_topology, ensure_exchange};
use crate::contracts::{self, Event};
use crate::outbox;
use crate::relay::Backoff;
use crate::status::ConsumerState;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use platform::db::DbPool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

const ATTEMPTS_HEADER: &str = "x-attempts";
const ROUTING_KEY_HEADER: &str = "x-routing-key";
const ERROR_HEADER: &str = "x-last-error";

/// How long the message in hand may still take once shutdown began.
const IN_HAND_GRACE: Duration = Duration::from_secs(1);

/// How long the consumer waits for the broker to close its channels at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How a consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Queue name, `<service>.<purpose>` (e.g. `catalog.orders`); also the inbox's consumer.
    pub queue: String,
    pub exchange: String,
    /// Event names (routing keys) the queue is bound to.
    pub bindings: Vec<String>,
    /// Handler failures before a message is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_delay: Duration,
    /// Longest delay between retries.
    pub max_retry_delay: Duration,
    /// Messages in flight at once.
    pub prefetch: u16,
}

impl ConsumerConfig {
    pub fn new(queue: impl Into<String>, exchange: impl Into<String>, bindings: &[&str]) -> Self {
        Self {
            queue: queue.into(),
            exchange: exchange.into(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            max_attempts: 5,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(300),
            prefetch: 16,
        }
    }

    /// The delay before retry number `attempt` (1-based).
    pub fn retry_delay_for(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.retry_delay
            .saturating_mul(factor)
            .min(self.max_retry_delay)
    }
}

/// An event as a handler sees it.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub id: Uuid,
    /// The event name (routing key), e.g. `order.submitted`.
    pub name: String,
    /// The AMQP `type`: the full protobuf message name, when the producer set it.
    pub message_type: Option<String>,
    pub correlation_id: Option<String>,
    /// The producing service, checked against the catalog and the publishing broker user
    /// before the handler is called (see the module documentation).
    pub producer: Option<String>,
    /// Failed attempts before this one.
    pub attempts: u32,
    pub payload: Vec<u8>,
}

impl IncomingEvent {
    /// Decodes the payload as `E`; a name, type or payload mismatch is permanent.
    pub fn decode<E: Event>(&self) -> Result<E, HandlerError> {
        if self.name != E::NAME {
            return Err(HandlerError::Permanent(format!(
                "expected {} but got {}",
                E::NAME,
                self.name
            )));
        }
        if let Some(message_type) = &self.message_type
            && message_type != E::TYPE
        {
            return Err(HandlerError::Permanent(format!(
                "{} carries {message_type}, not {}",
                self.name,
                E::TYPE
            )));
        }
        E::decode(self.payload.as_slice())
            .map_err(|err| HandlerError::Permanent(format!("undecodable {}: {err}", E::NAME)))
    }
}

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying (a lock timeout, a briefly missing prerequisite).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (undecodable payload): dead-letter at once.
    #[error("{0}")]
    Permanent(String),
    /// The database failed; retried like a transient error.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// What a service does with an event. Runs inside the inbox transaction: write through
/// `conn` only, and publish follow-up events with `events::outbox::publish` on it.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// Runs after the transaction of a handled event committed, for side effects that must
    /// not run before the change is visible (dropping a cache a reader could otherwise fill
    /// again with the old rows). Best effort: not called for duplicates or failures.
    fn after_commit<'a>(&'a self, _event: &'a IncomingEvent) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

enum Outcome {
    Handled,
    Duplicate,
    Failed(HandlerError),
}

/// Consumes one queue until shutdown, reconnecting by itself.
pub struct Consumer<H> {
    pool: DbPool,
    broker: Arc<Broker>,
    config: ConsumerConfig,
    names: QueueNames,
    handler: H,
    state: Arc<ConsumerState>,
}

impl<H: Handler> Consumer<H> {
    /// A consumer of `config.queue`; from now on the broker's `/health` check waits for it to
    /// attach.
    pub fn new(pool: DbPool, broker: Arc<Broker>, config: ConsumerConfig, handler: H) -> Self {
        let names = QueueNames::for_queue(&config.queue);
        let state = broker.register_consumer(&config.queue);
        Self {
            pool,
            broker,
            config,
            names,
            handler,
            state,
        }
    }

    /// Declares the queues and bindings once, so events published before [`Consumer::run`]
    /// starts are kept for it.
    pub async fn declare(&self) -> lapin::Result<()> {
        ensure_exchange(&self.broker, &self.config.exchange).await?;
        let channel = self.broker.channel().await?;
        self.declare_on(&channel).await?;
        let _ = channel.close(200, ShortString::from("declared")).await;
        Ok(())
    }

    async fn declare_on(&self, channel: &Channel) -> lapin::Result<()> {
        declare_consumer_topology(
            channel,
            &self.config.exchange,
            &self.names,
            &self.config.bindings,
        )
        .await
    }

    /// Runs until `shutdown` fires; the message in hand gets [`IN_HAND_GRACE`] to finish.
    pub async fn run(self, shutdown: CancellationToken) {
        // The lag gauge grows while nothing happens: keep it current.
        let refresh = async {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                self.state.refresh_metrics();
            }
        };
        tokio::select! {
            () = self.reconnecting(&shutdown) => {},
            () = refresh => {},
        }
        self.state.stopped();
        tracing::info!(queue = %self.config.queue, "consumer stopped");
    }

    async fn reconnecting(&self, shutdown: &CancellationToken) {
        let mut backoff = Backoff::new();
        while !shutdown.is_cancelled() {
            match self.consume(shutdown, &mut backoff).await {
                Ok(()) => break,
                Err(err) => {
                    self.state.detached(&err.to_string());
                    tracing::warn!(queue = %self.config.queue, %err, "consumer lost the broker; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next()) => {},
                        () = shutdown.cancelled() => break,
                    }
                }
            }
        }
    }

    async fn consume(
        &self,
        shutdown: &CancellationToken,
        backoff: &mut Backoff,
    ) -> lapin::Result<()> {
        ensure_exchange(&self.broker, &self.config.exchange).await?;
        let channel = self.broker.channel().await?;
        self.declare_on(&channel).await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        // Retries and dead letters are published with confirms, so the original is acked only
        // once its copy is safe.
        let publisher = self.broker.channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                self.names.main.as_str().into(),
                ShortString::from(""),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.state.attached();
        tracing::info!(queue = %self.config.queue, "consuming");
        backoff.reset();
        let stopping = async {
            shutdown.cancelled().await;
            tokio::time::sleep(IN_HAND_GRACE).await;
        };
        tokio::pin!(stopping);
        let outcome = loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break Ok(()),
                delivery = deliveries.next() => match delivery {
                    Some(Ok(delivery)) => {
                        tokio::select! {
                            processed = self.process(delivery, &publisher, shutdown) => processed?,
                            // Unacked, the message goes back to the queue with the channel.
                            () = &mut stopping => break Ok(()),
                        }
                    }
                    Some(Err(err)) => break Err(err),
                    None => break Err(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                        lapin::ChannelState::Closed, "the consumer stream ended",
                    ))),
                },
            }
        };
        if outcome.is_ok() {
            let closing = async {
                let _ = channel
                    .close(200, ShortString::from("consumer stopping"))
                    .await;
                let _ = publisher
                    .close(200, ShortString::from("consumer stopping"))
                    .await;
            };
            if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
                tracing::warn!(queue = %self.config.queue, "the broker did not close the consumer's channels in time");
            }
        }
        outcome
    }

    async fn process(
        &self,
        delivery: Delivery,
        publisher: &Channel,
        shutdown: &CancellationToken,
    ) -> lapin::Result<()> {
        let event = match incoming(&delivery) {
            Ok(event) => event,
            Err(reason) => {
                tracing::error!(queue = %self.config.queue, %reason, "unreadable message");
                return self.dead_letter(&delivery, publisher, 0, &reason).await;
            }
        };
        let user_id = delivery.properties.user_id().as_ref().map(|u| u.as_str());
        if let Err(reason) = check_producer(
            &event.name,
            event.producer.as_deref(),
            user_id,
            self.broker.user(),
        ) {
            return self.refuse(&delivery, publisher, &event, &reason).await;
        }
        let span = tracing::info_span!(
            "consume",
            otel.kind = "consumer",
            queue = %self.config.queue,
            event = %event.name,
            event_id = %event.id,
            correlation_id = event.correlation_id.as_deref().unwrap_or(""),
        );
        crate::tracecontext::set_parent(&span, traceparent(&delivery).as_deref());
        self.settle(delivery, publisher, event, shutdown)
            .instrument(span)
            .await
    }

    /// Dead-letters an event refused for its producer, at once and without our user_id, so
    /// that replaying it from the DLQ is refused again.
    async fn refuse(
        &self,
        delivery: &Delivery,
        publisher: &Channel,
        event: &IncomingEvent,
        reason: &str,
    ) -> lapin::Result<()> {
        tracing::error!(
            queue = %self.config.queue,
            event = %event.name,
            event_id = %event.id,
            %reason,
            "event refused: not from the producer the catalog names"
        );
        // The event label only for names the catalog knows: a forger chooses the name.
        let name = contracts::type_of(&event.name).map_or("unknown", |_| event.name.as_str());
        metrics::counter!(
            "events_producer_refused_total",
            "queue" => self.config.queue.clone(),
            "event" => name.to_owned(),
        )
        .increment(1);
        let props = with_failure_headers(delivery, 0, reason, Some(&event.name), None);
        self.republish(delivery, publisher, &self.names.dead, props)
            .await
    }

    /// Applies one event and acks, retries or dead-letters it.
    async fn settle(
        &self,
        delivery: Delivery,
        publisher: &Channel,
        event: IncomingEvent,
        shutdown: &CancellationToken,
    ) -> lapin::Result<()> {
        // The database being down (no connection, or the connection lost mid-handler) is
        // not the event's fault: hold the message and wait for the database instead of
        // counting attempts, so an outage delays events but never dead-letters them. Every
        // other message would meet the same outage anyway.
        let mut outages = 0;
        let outcome = loop {
            let unavailable = match self.pool.get().await {
                Ok(mut conn) => match self.apply(&mut conn, &event).await {
                    Outcome::Failed(HandlerError::Database(err)) if connection_lost(&err) => {
                        err.to_string()
                    }
                    outcome => break outcome,
                },
                Err(err) => err.to_string(),
            };
            outages += 1;
            let delay = self.config.retry_delay_for(outages);
            tracing::warn!(error = %unavailable, ?delay, "database unavailable; holding the event");
            metrics::counter!("events_database_unavailable_total", "queue" => self.config.queue.clone())
                .increment(1);
            tokio::select! {
                () = tokio::time::sleep(delay) => {},
                // Unacked, the message goes back to the queue when the channel closes.
                () = shutdown.cancelled() => return Ok(()),
            }
        };
        let labels = [
            ("queue", self.config.queue.clone()),
            ("event", event.name.clone()),
        ];
        match outcome {
            Outcome::Handled | Outcome::Duplicate => {
                let outcome = if matches!(outcome, Outcome::Handled) {
                    "handled"
                } else {
                    "duplicate"
                };
                if matches!(outcome, "handled") {
                    self.handler.after_commit(&event).await;
                }
                delivery.ack(BasicAckOptions::default()).await?;
                let mut labels = labels.to_vec();
                labels.push(("outcome", outcome.into()));
                metrics::counter!("events_consumed_total", &labels).increment(1);
                tracing::debug!(outcome, "event consumed");
            }
            Outcome::Failed(err) => {
                let attempts = event.attempts + 1;
                let permanent = matches!(err, HandlerError::Permanent(_));
                if permanent || attempts >= self.config.max_attempts {
                    tracing::error!(%err, attempts, "event dead-lettered");
                    self.dead_letter(&delivery, publisher, attempts, &err.to_string())
                        .await?;
                    metrics::counter!("events_dead_lettered_total", &labels).increment(1);
                } else {
                    let delay = self.config.retry_delay_for(attempts);
                    tracing::warn!(%err, attempts, ?delay, "event failed; will retry");
                    self.retry(
                        &delivery,
                        publisher,
                        &event,
                        attempts,
                        delay,
                        &err.to_string(),
                    )
                    .await?;
                    metrics::counter!("events_retried_total", &labels).increment(1);
                }
            }
        }
        Ok(())
    }

    async fn apply(&self, conn: &mut AsyncPgConnection, event: &IncomingEvent) -> Outcome {
        let consumer = self.config.queue.as_str();
        let handler = &self.handler;
        let result = conn
            .transaction(async |conn: &mut AsyncPgConnection| {
                if !outbox::record_processed(conn, event.id, consumer).await? {
                    return Ok::<_, HandlerError>(false);
                }
                handler.handle(conn, event).await?;
                Ok(true)
            })
            .await;
        match result {
            Ok(true) => Outcome::Handled,
            Ok(false) => Outcome::Duplicate,
            Err(err) => Outcome::Failed(err),
        }
    }

    async fn retry(
        &self,
        delivery: &Delivery,
        publisher: &Channel,
        event: &IncomingEvent,
        attempts: u32,
        delay: Duration,
        error: &str,
    ) -> lapin::Result<()> {
        let props = with_failure_headers(
            delivery,
            attempts,
            error,
            Some(&event.name),
            Some(self.broker.user()),
        )
        .with_expiration(ShortString::from(delay.as_millis().to_string()));
        self.republish(delivery, publisher, &self.names.retry, props)
            .await
    }

    async fn dead_letter(
        &self,
        delivery: &Delivery,
        publisher: &Channel,
        attempts: u32,
        error: &str,
    ) -> lapin::Result<()> {
        let name = original_routing_key(delivery);
        let props = with_failure_headers(
            delivery,
            attempts,
            error,
            Some(&name),
            Some(self.broker.user()),
        );
        self.republish(delivery, publisher, &self.names.dead, props)
            .await
    }

    /// Publishes a copy through the default exchange straight to `queue`, then acks the
    /// original; if the broker does not confirm the copy, the original is requeued instead.
    async fn republish(
        &self,
        delivery: &Delivery,
        publisher: &Channel,
        queue: &str,
        props: BasicProperties,
    ) -> lapin::Result<()> {
        let confirm = publisher
            .basic_publish(
                ShortString::from(""),
                queue.into(),
                BasicPublishOptions::default(),
                &delivery.data,
                props,
            )
            .await?
            .await?;
        if matches!(confirm, Confirmation::Ack(_)) {
            delivery.ack(BasicAckOptions::default()).await.map(drop)
        } else {
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
                .map(drop)
        }
    }
}

/// Whether `err` means the connection to the database went away, not that the handler's
/// work was refused.
fn connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | Error::BrokenTransactionManager
    )
}

fn header<'a>(delivery: &'a Delivery, key: &str) -> Option<&'a AMQPValue> {
    delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get(&ShortString::from(key))
}

fn header_text(delivery: &Delivery, key: &str) -> Option<String> {
    match header(delivery, key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

pub(crate) fn traceparent(delivery: &Delivery) -> Option<String> {
    header_text(delivery, "traceparent")
}

/// The event name. A retried message arrives through the default exchange under the queue's
/// name, so there the name travels in a header; a message from the events exchange is named by
/// its routing key, which the broker checked against the publisher's topic permissions.
fn original_routing_key(delivery: &Delivery) -> String {
    delivery
        .exchange
        .as_str()
        .is_empty()
        .then(|| header_text(delivery, ROUTING_KEY_HEADER))
        .flatten()
        .unwrap_or_else(|| delivery.routing_key.as_str().to_owned())
}

/// Whether the event called `name`, claiming `producer` and published by broker user
/// `user_id`, comes from a producer the catalog names; `own_user` is this consumer's broker
/// user. `Err` says why not.
pub(crate) fn check_producer(
    name: &str,
    producer: Option<&str>,
    user_id: Option<&str>,
    own_user: &str,
) -> Result<(), String> {
    let Some(producers) = contracts::producers_of(name) else {
        return Err(format!("{name} is not in the event catalog"));
    };
    let Some(producer) = producer else {
        return Err(format!("{name} has no producer header"));
    };
    if !producers.contains(&producer) {
        return Err(format!(
            "{name} claims producer {producer}, but the catalog names {}",
            producers.join(", ")
        ));
    }
    // The broker refuses a user_id that is not the publishing connection's user, so this is
    // who really published it. Our own user: a retry we re-queued after checking it, or a
    // broker whose services share one user (tests), where only the header can be checked.
    match user_id {
        Some(user) if user == producer || user == own_user => Ok(()),
        Some(user) => Err(format!(
            "{name} claims producer {producer}, but broker user {user} published it"
        )),
        None => Err(format!(
            "{name} claims producer {producer}, but carries no user_id"
        )),
    }
}

fn attempts(delivery: &Delivery) -> u32 {
    match header(delivery, ATTEMPTS_HEADER) {
        Some(AMQPValue::LongInt(n)) => (*n).max(0) as u32,
        Some(AMQPValue::LongUInt(n)) => *n,
        Some(AMQPValue::LongLongInt(n)) => (*n).clamp(0, i64::from(u32::MAX)) as u32,
        _ => 0,
    }
}

pub(crate) fn incoming(delivery: &Delivery) -> Result<IncomingEvent, String> {
    let id = delivery
        .properties
        .message_id()
        .as_ref()
        .ok_or("no message_id")?
        .as_str();
    let id = Uuid::parse_str(id).map_err(|_| format!("message_id {id} is not a UUID"))?;
    Ok(IncomingEvent {
        id,
        name: original_routing_key(delivery),
        message_type: delivery
            .properties
            .kind()
            .as_ref()
            .map(|t| t.as_str().to_owned()),
        correlation_id: delivery
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        producer: header_text(delivery, "producer"),
        attempts: attempts(delivery),
        payload: delivery.data.clone(),
    })
}

/// The properties of a retry or dead-letter copy. `user_id` is this consumer's broker user
/// (the broker allows no other), which marks the copy as one it checked already.
pub(crate) fn with_failure_headers(
    delivery: &Delivery,
    attempts: u32,
    error: &str,
    routing_key: Option<&str>,
    user_id: Option<&str>,
) -> BasicProperties {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(
        ShortString::from(ATTEMPTS_HEADER),
        AMQPValue::LongInt(attempts as i32),
    );
    // Bounded: an error message must not grow the message without limit.
    let error: String = error.chars().take(1000).collect();
    headers.insert(
        ShortString::from(ERROR_HEADER),
        AMQPValue::LongString(LongString::from(error)),
    );
    if let Some(key) = routing_key {
        headers.insert(
            ShortString::from(ROUTING_KEY_HEADER),
            AMQPValue::LongString(LongString::from(key)),
        );
    }
    // Fresh properties rather than a clone: a retried copy must not keep an earlier expiry.
    let original = &delivery.properties;
    let mut props = BasicProperties::default()
        .with_headers(headers)
        .with_delivery_mode(2);
    if let Some(id) = original.message_id() {
        props = props.with_message_id(id.clone());
    }
    if let Some(kind) = original.kind() {
        props = props.with_type(kind.clone());
    }
    if let Some(content_type) = original.content_type() {
        props = props.with_content_type(content_type.clone());
    }
    if let Some(correlation_id) = original.correlation_id() {
        props = props.with_correlation_id(correlation_id.clone());
    }
    if let Some(timestamp) = original.timestamp() {
        props = props.with_timestamp(*timestamp);
    }
    if let Some(user_id) = user_id {
        props = props.with_user_id(ShortString::from(user_id));
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{ProductDeleted, StockReserved};
    use prost::Message;

    fn incoming(name: &str, message_type: Option<&str>, payload: Vec<u8>) -> IncomingEvent {
        IncomingEvent {
            id: Uuid::now_v7(),
            name: name.into(),
            message_type: message_type.map(str::to_owned),
            correlation_id: None,
            producer: None,
            attempts: 0,
            payload,
        }
    }

    #[test]
    fn decode_checks_name_type_and_payload() {
        let payload = ProductDeleted {
            product_id: "p".into(),
            version: 3,
            deleted_at: None,
        }
        .encode_to_vec();
        let ok = incoming(
            "product.deleted",
            Some(ProductDeleted::TYPE),
            payload.clone(),
        );
        assert_eq!(ok.decode::<ProductDeleted>().unwrap().version, 3);
        let untyped = incoming("product.deleted", None, payload.clone());
        assert!(untyped.decode::<ProductDeleted>().is_ok());

        let wrong_name = incoming(
            "stock.reserved",
            Some(ProductDeleted::TYPE),
            payload.clone(),
        );
        assert!(matches!(
            wrong_name.decode::<ProductDeleted>(),
            Err(HandlerError::Permanent(_))
        ));
        let wrong_type = incoming("product.deleted", Some(StockReserved::TYPE), payload);
        assert!(matches!(
            wrong_type.decode::<ProductDeleted>(),
            Err(HandlerError::Permanent(_))
        ));
        let garbage = incoming("product.deleted", None, vec![0xff, 0xff, 0xff]);
        assert!(matches!(
            garbage.decode::<ProductDeleted>(),
            Err(HandlerError::Permanent(_))
        ));
    }

    #[test]
    fn only_the_catalogs_producer_or_our_own_retries_pass() {
        let ok = |producer, user| check_producer("payment.succeeded", producer, user, "orders");
        assert_eq!(ok(Some("payments"), Some("payments")), Ok(()));
        // A copy this consumer re-queued, or a broker whose services share our user.
        assert_eq!(ok(Some("payments"), Some("orders")), Ok(()));
        // The catalog names payments, whoever published it.
        assert!(ok(Some("tracking"), Some("tracking")).is_err());
        assert!(ok(Some("orders"), Some("orders")).is_err());
        assert!(ok(None, Some("payments")).is_err());
        // The header says payments, but the broker says tracking published it.
        assert!(ok(Some("payments"), Some("tracking")).is_err());
        assert!(ok(Some("payments"), None).is_err());
        // Several producers: each may publish only as itself.
        let audit = |producer, user| check_producer("audit.recorded", producer, user, "auth");
        assert_eq!(audit(Some("orders"), Some("orders")), Ok(()));
        assert_eq!(audit(Some("chat"), Some("chat")), Ok(()));
        assert!(audit(Some("orders"), Some("chat")).is_err());
        assert!(audit(Some("auth"), Some("auth")).is_err());
        assert!(check_producer("order.exploded", Some("orders"), Some("orders"), "x").is_err());
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let mut config = ConsumerConfig::new("q", "x", &["a.b"]);
        config.retry_delay = Duration::from_millis(100);
        config.max_retry_delay = Duration::from_secs(1);
        assert_eq!(config.retry_delay_for(1), Duration::from_millis(100));
        assert_eq!(config.retry_delay_for(2), Duration::from_millis(200));
        assert_eq!(config.retry_delay_for(3), Duration::from_millis(400));
        assert_eq!(config.retry_delay_for(5), Duration::from_secs(1));
        assert_eq!(config.retry_delay_for(100), Duration::from_secs(1));
    }
}
