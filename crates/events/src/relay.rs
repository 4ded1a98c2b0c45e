//! The relay: moves outbox rows to RabbitMQ. Woken by the outbox trigger's NOTIFY, and by a
//! periodic sweep in case a notification was missed (the listener reconnecting, a relay
//! started after the insert). Rows are locked `FOR UPDATE SKIP LOCKED`, published with
//! publisher confirms and marked sent in the same transaction, so two relays never send the
//! same row at once and a broker outage delays events without losing any. If the process
//! dies between the broker's confirm and the commit, the row is sent again: delivery is at
//! least once, and consumers' inboxes make that harmless.
//!
//! Events are published `mandatory`: a message no queue is bound for comes back
//! (`basic.return`, before its confirm) instead of vanishing. A returned event that some
//! queue of the deployment consumes ([`contracts::consumed`]) stays in the outbox and is
//! tried again with backoff, until its queue exists (the broker definitions were not loaded,
//! or a fresh broker met a producer first); one that nothing consumes yet is marked sent, as
//! there is nobody to lose it for. Both are counted in `events_returned_total{event,outcome}`.

use crate::broker::{Broker, ensure_exchange};
use crate::contracts;
use crate::outbox::{self, OutboxRow};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel};
use platform::db::DbPool;
use rand::Rng;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// For the dedicated LISTEN connection.
    pub database_url: String,
    /// The service's schema: where its outbox is and the NOTIFY channel's name.
    pub schema: String,
    pub exchange: String,
    /// Sent as the `producer` header: the service's name, which consumers check against the
    /// event catalog (and against the broker user the relay connects as).
    pub producer: String,
    /// Rows per transaction.
    pub batch_size: i64,
    /// How often to look for rows even without a notification.
    pub sweep_interval: Duration,
    /// How long sent rows are kept.
    pub retention: Duration,
}

impl RelayConfig {
    pub fn new(
        database_url: impl Into<String>,
        schema: impl Into<String>,
        exchange: impl Into<String>,
        producer: impl Into<String>,
    ) -> Self {
        Self {
            database_url: database_url.into(),
            schema: schema.into(),
            exchange: exchange.into(),
            producer: producer.into(),
            batch_size: 200,
            sweep_interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("broker refused event {0}")]
    Nacked(uuid::Uuid),
}

/// How long the relay waits for the broker to close its channel at shutdown before it goes
/// anyway (a broker that stopped answering must not hold the service up).
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

/// Relays one service's outbox.
pub struct Relay {
    pool: DbPool,
    broker: Arc<Broker>,
    config: RelayConfig,
    wake: Arc<Notify>,
    channel: Option<Channel>,
    /// Rows the broker returned (no queue bound yet): left out of batches until
    /// `held_until`, so they never hold up the rows behind them, then tried again together
    /// (in order) with a growing delay.
    held: HashSet<uuid::Uuid>,
    held_until: Option<Instant>,
    held_backoff: Backoff,
}

impl Relay {
    pub fn new(pool: DbPool, broker: Arc<Broker>, config: RelayConfig) -> Self {
        Self {
            pool,
            broker,
            config,
            wake: Arc::new(Notify::new()),
            channel: None,
            held: HashSet::new(),
            held_until: None,
            held_backoff: Backoff::new(),
        }
    }

    /// Runs until `shutdown` fires. Errors are logged and retried with backoff; the relay
    /// never gives up while the service runs. Shutdown is prompt whatever the relay is
    /// waiting on: a batch in flight is abandoned (its transaction rolls back and the rows go
    /// again later) and the channel gets [`CLOSE_TIMEOUT`] to close.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let listener = tokio::spawn(listen(
            self.config.database_url.clone(),
            self.config.schema.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        let mut backoff = Backoff::new();
        let mut last_prune = Instant::now();
        loop {
            let drained = tokio::select! {
                drained = self.drain() => drained,
                () = shutdown.cancelled() => break,
            };
            match drained {
                Ok(()) => backoff.reset(),
                Err(err) => {
                    tracing::warn!(%err, "outbox relay failed; retrying");
                    self.channel = None;
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next()) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            }
            if last_prune.elapsed() > Duration::from_secs(600) {
                last_prune = Instant::now();
                self.prune().await;
            }
            let sweep = self
                .next_held_due()
                .map_or(self.config.sweep_interval, |due| {
                    due.saturating_duration_since(Instant::now())
                        .min(self.config.sweep_interval)
                });
            tokio::select! {
                () = self.wake.notified() => {},
                () = tokio::time::sleep(sweep) => {},
                () = shutdown.cancelled() => break,
            }
        }
        listener.abort();
        if let Some(channel) = self.channel.take() {
            let closing = channel.close(200, ShortString::from("relay stopping"));
            if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
                tracing::warn!("the broker did not close the relay's channel in time");
            }
        }
    }

    /// When the held rows are due again.
    fn next_held_due(&self) -> Option<Instant> {
        self.held_until
    }

    /// Sends batches until the outbox is empty (but for the rows held back).
    async fn drain(&mut self) -> Result<(), RelayError> {
        loop {
            let locked = self.send_batch().await?;
            if locked < self.config.batch_size as usize {
                self.record_backlog().await;
                return Ok(());
            }
        }
    }

    async fn publisher(&mut self) -> Result<Channel, RelayError> {
        if let Some(channel) = &self.channel
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        ensure_exchange(&self.broker, &self.config.exchange).await?;
        let channel = self.broker.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        self.channel = Some(channel.clone());
        Ok(channel)
    }

    /// Publishes one batch and marks what the broker took as sent; answers how many rows it
    /// locked.
    async fn send_batch(&mut self) -> Result<usize, RelayError> {
        let channel = self.publisher().await?;
        if self.held_until.is_some_and(|due| due <= Instant::now()) {
            // Their turn again: they go with the batch, in their order.
            self.held.clear();
            self.held_until = None;
        }
        let retrying = self.held.is_empty();
        let skipped: Vec<uuid::Uuid> = self.held.iter().copied().collect();
        let mut pooled = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        let config = &self.config;
        let broker = &self.broker;
        let (locked, held) = conn
            .transaction(async |conn: &mut AsyncPgConnection| {
                let rows = outbox::lock_unsent(conn, config.batch_size, &skipped).await?;
                if rows.is_empty() {
                    return Ok::<_, RelayError>((0, Vec::new()));
                }
                let returned = publish_all(&channel, config, broker.user(), &rows).await?;
                let mut sent = Vec::with_capacity(rows.len());
                let mut held = Vec::new();
                for row in &rows {
                    let event = row.routing_key.clone();
                    if !returned.contains(&row.id) {
                        metrics::counter!("events_published_total", "event" => event)
                            .increment(1);
                        sent.push(row.id);
                        continue;
                    }
                    // A returned event some queue of ours consumes waits for that queue; one
                    // that nothing consumes yet has nobody to wait for.
                    let outcome = if contracts::consumed(&row.routing_key) {
                        held.push((row.id, event.clone()));
                        "held"
                    } else {
                        sent.push(row.id);
                        "no_consumer"
                    };
                    metrics::counter!("events_returned_total", "event" => event, "outcome" => outcome)
                        .increment(1);
                }
                outbox::mark_sent(conn, &sent).await?;
                Ok((rows.len(), held))
            })
            .await?;
        if retrying && held.is_empty() && locked > 0 {
            self.held_backoff.reset();
        }
        for (id, event) in &held {
            tracing::warn!(
                event_id = %id,
                %event,
                "no queue is bound for the event (broker definitions not loaded?); it stays in the outbox"
            );
        }
        if !held.is_empty() {
            self.held.extend(held.iter().map(|(id, _)| *id));
            if self.held_until.is_none() {
                self.held_until = Some(Instant::now() + self.held_backoff.next());
            }
        }
        Ok(locked)
    }

    async fn record_backlog(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        if let Ok((count, oldest)) = outbox::backlog(&mut conn).await {
            metrics::gauge!("events_outbox_backlog").set(count as f64);
            let age = oldest
                .map(|oldest| (Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            metrics::gauge!("events_outbox_oldest_age_seconds").set(age);
        }
    }

    async fn prune(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        let retention = chrono::Duration::from_std(self.config.retention).unwrap_or_default();
        match outbox::prune_sent(&mut conn, Utc::now() - retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned sent outbox rows"),
            Err(err) => tracing::warn!(%err, "could not prune the outbox"),
        }
    }
}

/// The AMQP properties of an outbox row (see `proto/README.md`). `user` is the broker user the
/// relay connects as: sent as `user_id`, which the broker refuses unless it is the
/// connection's own user, so consumers can trust it names the publisher.
pub(crate) fn properties(row: &OutboxRow, producer: &str, user: &str) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(LongString::from(producer)),
    );
    if let Some(traceparent) = &row.traceparent {
        headers.insert(
            ShortString::from("traceparent"),
            AMQPValue::LongString(LongString::from(traceparent.as_str())),
        );
    }
    let mut props = BasicProperties::default()
        .with_message_id(ShortString::from(row.id.to_string()))
        .with_type(ShortString::from(row.message_type.as_str()))
        .with_content_type(ShortString::from("application/x-protobuf"))
        .with_timestamp(row.created_at.timestamp().max(0) as u64)
        .with_delivery_mode(2)
        .with_user_id(ShortString::from(user))
        .with_headers(headers);
    if let Some(correlation_id) = &row.correlation_id {
        props = props.with_correlation_id(ShortString::from(correlation_id.as_str()));
    }
    props
}

/// Publishes every row `mandatory`, then waits for all confirms: one round trip per batch,
/// not per row. Answers the ids of the rows the broker returned as unroutable.
///
/// The broker sends a message's `basic.return` before its `basic.ack`, and lapin hands each
/// return to the next confirm it completes, which need not be that message's own (one
/// multiple-ack completes several in no particular order). So a return is told by the
/// `message_id` it carries (the row's id), never by the confirm it came with; every return of
/// the batch comes with one of the batch's confirms, since all of them are awaited.
async fn publish_all(
    channel: &Channel,
    config: &RelayConfig,
    user: &str,
    rows: &[OutboxRow],
) -> Result<HashSet<uuid::Uuid>, RelayError> {
    let mandatory = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let mut confirms = Vec::with_capacity(rows.len());
    for row in rows {
        let confirm = channel
            .basic_publish(
                config.exchange.as_str().into(),
                row.routing_key.as_str().into(),
                mandatory,
                &row.payload,
                properties(row, &config.producer, user),
            )
            .await?;
        confirms.push((row.id, confirm));
    }
    let mut returned = HashSet::new();
    let mut nacked = None;
    for (id, confirm) in confirms {
        let confirmation = confirm.await?;
        if !confirmation.is_ack() {
            nacked.get_or_insert(id);
        }
        if let Some(message) = confirmation.take_message() {
            let back = message
                .delivery
                .properties
                .message_id()
                .as_ref()
                .and_then(|id| uuid::Uuid::parse_str(id.as_str()).ok());
            match back {
                Some(back) => {
                    returned.insert(back);
                }
                // Not one of ours: cannot happen on the relay's own channel, but never mark
                // the batch sent on a doubt.
                None => return Err(RelayError::Nacked(id)),
            }
        }
    }
    match nacked {
        Some(id) => Err(RelayError::Nacked(id)),
        None => Ok(returned),
    }
}

/// Keeps a LISTEN connection open and turns notifications into wake-ups, reconnecting after
/// errors. While it is down the sweep still moves events, only later.
async fn listen(url: String, schema: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut backoff = Backoff::new();
    while !shutdown.is_cancelled() {
        match listen_once(&url, &schema, &wake, &shutdown).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(%err, "outbox listener lost its connection; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(backoff.next()) => {},
                    () = shutdown.cancelled() => return,
                }
            }
        }
    }
}

async fn listen_once(
    url: &str,
    schema: &str,
    wake: &Notify,
    shutdown: &CancellationToken,
) -> Result<(), RelayError> {
    use diesel_async::RunQueryDsl;
    let mut conn = platform::db::connect(url, schema)
        .await
        .map_err(|e| RelayError::Pool(e.to_string()))?;
    // The schema name was checked by `connect`, so quoting it here is safe.
    diesel::sql_query(format!("LISTEN \"{schema}.outbox\""))
        .execute(&mut conn)
        .await?;
    // Rows written while we were not listening.
    wake.notify_one();
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    loop {
        tokio::select! {
            notification = notifications.next() => match notification {
                Some(Ok(_)) => wake.notify_one(),
                Some(Err(err)) => return Err(err.into()),
                None => return Err(RelayError::Pool("notification stream ended".into())),
            },
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// Exponential backoff from 100 ms to [`Backoff::CAP`], each delay drawn at random from its
/// upper half ("equal jitter"), so that the services' relays and consumers do not all come
/// back at the same instant after a broker restart.
#[derive(Debug, Clone)]
pub(crate) struct Backoff(u32);

impl Backoff {
    /// The longest delay: a broker back after a restart is found within this long.
    pub(crate) const CAP: Duration = Duration::from_secs(5);

    pub(crate) fn new() -> Self {
        Self(0)
    }

    /// The ceiling of the next delay, before jitter.
    fn ceiling(&self) -> Duration {
        Duration::from_millis(100 * 2u64.pow(self.0.min(9))).min(Self::CAP)
    }

    pub(crate) fn next(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.0 = self.0.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    pub(crate) fn reset(&mut self) {
        self.0 = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_with_jitter() {
        let mut backoff = Backoff::new();
        let first = backoff.next();
        assert!(
            (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first),
            "{first:?}"
        );
        let second = backoff.next();
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&second),
            "{second:?}"
        );
        for _ in 0..20 {
            backoff.next();
        }
        let capped: Vec<Duration> = (0..50).map(|_| backoff.next()).collect();
        assert!(
            capped
                .iter()
                .all(|delay| (Backoff::CAP / 2..=Backoff::CAP).contains(delay)),
            "{capped:?}"
        );
        let distinct: HashSet<Duration> = capped.iter().copied().collect();
        assert!(distinct.len() > 1, "jittered: {capped:?}");
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(100));
    }

    #[test]
    fn properties_follow_the_wire_conventions() {
        let row = OutboxRow {
            id: uuid::Uuid::now_v7(),
            routing_key: "order.submitted".into(),
            message_type: "faded_skies.events.v1.OrderSubmitted".into(),
            payload: vec![],
            correlation_id: Some("order-1".into()),
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
            created_at: Utc::now(),
        };
        let props = properties(&row, "orders", "orders");
        assert_eq!(
            props.message_id().as_ref().unwrap().as_str(),
            row.id.to_string()
        );
        assert_eq!(props.kind().as_ref().unwrap().as_str(), row.message_type);
        assert_eq!(
            props.content_type().as_ref().unwrap().as_str(),
            "application/x-protobuf"
        );
        assert_eq!(props.correlation_id().as_ref().unwrap().as_str(), "order-1");
        assert_eq!(*props.delivery_mode(), Some(2));
        assert_eq!(props.user_id().as_ref().unwrap().as_str(), "orders");
        let headers = props.headers().as_ref().unwrap().inner();
        assert!(headers.contains_key(&ShortString::from("producer")));
        assert!(headers.contains_key(&ShortString::from("traceparent")));
    }
}
