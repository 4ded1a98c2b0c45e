//! A consumer without an inbox, for a service that keeps nothing from the events it consumes
//! and has no database (realtime, which pushes each event to the sockets it concerns).
//!
//! Everything else is the [`Consumer`](crate::Consumer)'s: one durable queue per purpose
//! declared as the broker definitions declare it, the producer checked before the handler, a
//! failing event retried through `<queue>.retry` and dead-lettered after `max_attempts`,
//! `/health` ready only while attached, prompt shutdown. Without an inbox a redelivered event
//! is handled again, so the handler's effect must bear repeating (a socket seeing the same
//! status twice).

use crate::broker::{Broker, QueueNames, declare_consumer_topology, ensure_exchange};
use crate::consumer::{
    ConsumerConfig, HandlerError, IncomingEvent, check_producer, incoming, traceparent,
    with_failure_headers,
};
use crate::relay::Backoff;
use crate::status::ConsumerState;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How long the event in hand may still take once shutdown began.
const IN_HAND_GRACE: Duration = Duration::from_secs(1);
/// How long the broker gets to close the channels at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

/// What a service does with an event, without a database transaction around it.
pub trait LiveHandler: Send + Sync + 'static {
    fn handle<'a>(&'a self, event: &'a IncomingEvent) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// Consumes one queue until shutdown, reconnecting by itself; see the module documentation.
pub struct LiveConsumer<H> {
    broker: Arc<Broker>,
    config: ConsumerConfig,
    names: QueueNames,
    handler: H,
    state: Arc<ConsumerState>,
}

impl<H: LiveHandler> LiveConsumer<H> {
    /// A consumer of `config.queue`; from now on the broker's `/health` check waits for it.
    pub fn new(broker: Arc<Broker>, config: ConsumerConfig, handler: H) -> Self {
        let names = QueueNames::for_queue(&config.queue);
        let state = broker.register_consumer(&config.queue);
        Self {
            broker,
            config,
            names,
            handler,
            state,
        }
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) {
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
        declare_consumer_topology(
            &channel,
            &self.config.exchange,
            &self.names,
            &self.config.bindings,
        )
        .await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
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
                            processed = self.process(delivery, &publisher) => processed?,
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
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
        }
        outcome
    }

    async fn process(&self, delivery: Delivery, publisher: &Channel) -> lapin::Result<()> {
        let event = match incoming(&delivery) {
            Ok(event) => event,
            Err(reason) => {
                tracing::error!(queue = %self.config.queue, %reason, "unreadable message");
                let props =
                    with_failure_headers(&delivery, 0, &reason, None, Some(self.broker.user()));
                return self
                    .republish(&delivery, publisher, &self.names.dead, props)
                    .await;
            }
        };
        let user_id = delivery.properties.user_id().as_ref().map(|u| u.as_str());
        if let Err(reason) = check_producer(
            &event.name,
            event.producer.as_deref(),
            user_id,
            self.broker.user(),
        ) {
            tracing::error!(queue = %self.config.queue, event = %event.name, %reason, "event refused: not from the producer the catalog names");
            let name =
                crate::contracts::type_of(&event.name).map_or("unknown", |_| event.name.as_str());
            metrics::counter!(
                "events_producer_refused_total",
                "queue" => self.config.queue.clone(),
                "event" => name.to_owned(),
            )
            .increment(1);
            let props = with_failure_headers(&delivery, 0, &reason, Some(&event.name), None);
            return self
                .republish(&delivery, publisher, &self.names.dead, props)
                .await;
        }
        let span = tracing::info_span!(
            "consume",
            otel.kind = "consumer",
            queue = %self.config.queue,
            event = %event.name,
            event_id = %event.id,
        );
        crate::tracecontext::set_parent(&span, traceparent(&delivery).as_deref());
        let outcome = self.handler.handle(&event).instrument(span).await;
        let labels = [
            ("queue", self.config.queue.clone()),
            ("event", event.name.clone()),
        ];
        match outcome {
            Ok(()) => {
                delivery.ack(BasicAckOptions::default()).await?;
                let mut labels = labels.to_vec();
                labels.push(("outcome", "handled".into()));
                metrics::counter!("events_consumed_total", &labels).increment(1);
            }
            Err(err) => {
                let attempts = event.attempts + 1;
                let permanent = matches!(err, HandlerError::Permanent(_));
                if permanent || attempts >= self.config.max_attempts {
                    tracing::error!(%err, attempts, "event dead-lettered");
                    let props = with_failure_headers(
                        &delivery,
                        attempts,
                        &err.to_string(),
                        Some(&event.name),
                        Some(self.broker.user()),
                    );
                    self.republish(&delivery, publisher, &self.names.dead, props)
                        .await?;
                    metrics::counter!("events_dead_lettered_total", &labels).increment(1);
                } else {
                    let delay = self.config.retry_delay_for(attempts);
                    tracing::warn!(%err, attempts, ?delay, "event failed; will retry");
                    let props = with_failure_headers(
                        &delivery,
                        attempts,
                        &err.to_string(),
                        Some(&event.name),
                        Some(self.broker.user()),
                    )
                    .with_expiration(ShortString::from(delay.as_millis().to_string()));
                    self.republish(&delivery, publisher, &self.names.retry, props)
                        .await?;
                    metrics::counter!("events_retried_total", &labels).increment(1);
                }
            }
        }
        Ok(())
    }

    /// A copy straight to `queue`, then the original acked (requeued if the copy is not
    /// confirmed).
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
