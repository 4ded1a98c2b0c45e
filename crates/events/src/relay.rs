//! The relay: moves outbox rows to RabbitMQ. Woken by the outbox trigger's NOTIFY, and by a
//! periodic sweep in case a notification was missed (the listener reconnecting, a relay
//! started after the insert). Rows are locked `FOR UPDATE SKIP LOCKED`, published with
//! publisher confirms and marked sent in the same transaction, so two relays never send the
//! same row at once and a broker outage delays events without losing any. If the process
//! dies between the broker's confirm and the commit, the row is sent again: delivery is at
//! least once, and consumers' inboxes make that harmless.

use crate::broker::{Broker, ensure_exchange};
use crate::outbox::{self, OutboxRow};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use platform::db::DbPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
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

/// Relays one service's outbox.
pub struct Relay {
    pool: DbPool,
    broker: Arc<Broker>,
    config: RelayConfig,
    wake: Arc<Notify>,
    channel: Option<Channel>,
}

impl Relay {
    pub fn new(pool: DbPool, broker: Arc<Broker>, config: RelayConfig) -> Self {
        Self {
            pool,
            broker,
            config,
            wake: Arc::new(Notify::new()),
            channel: None,
        }
    }

    /// Runs until `shutdown` fires. Errors are logged and retried with backoff; the relay
    /// never gives up while the service runs.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let listener = tokio::spawn(listen(
            self.config.database_url.clone(),
            self.config.schema.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        let mut backoff = Backoff::new();
        let mut last_prune = tokio::time::Instant::now();
        loop {
            match self.drain().await {
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
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = self.wake.notified() => {},
                () = tokio::time::sleep(self.config.sweep_interval) => {},
                () = shutdown.cancelled() => break,
            }
        }
        listener.abort();
        if let Some(channel) = self.channel.take() {
            let _ = channel
                .close(200, ShortString::from("relay stopping"))
                .await;
        }
    }

    /// Sends batches until the outbox is empty.
    async fn drain(&mut self) -> Result<(), RelayError> {
        loop {
            let sent = self.send_batch().await?;
            if sent < self.config.batch_size as usize {
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

    async fn send_batch(&mut self) -> Result<usize, RelayError> {
        let channel = self.publisher().await?;
        let mut pooled = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        let config = &self.config;
        let broker = &self.broker;
        let sent = conn
            .transaction(async |conn: &mut AsyncPgConnection| {
                let rows = outbox::lock_unsent(conn, config.batch_size).await?;
                if rows.is_empty() {
                    return Ok::<_, RelayError>(0);
                }
                publish_all(&channel, config, broker.user(), &rows).await?;
                let ids: Vec<uuid::Uuid> = rows.iter().map(|row| row.id).collect();
                outbox::mark_sent(conn, &ids).await?;
                for row in &rows {
                    metrics::counter!("events_published_total", "event" => row.routing_key.clone())
                        .increment(1);
                }
                Ok(rows.len())
            })
            .await?;
        Ok(sent)
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

/// Publishes every row, then waits for all confirms: one round trip per batch, not per row.
async fn publish_all(
    channel: &Channel,
    config: &RelayConfig,
    user: &str,
    rows: &[OutboxRow],
) -> Result<(), RelayError> {
    let mut confirms = Vec::with_capacity(rows.len());
    for row in rows {
        let confirm = channel
            .basic_publish(
                config.exchange.as_str().into(),
                row.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                &row.payload,
                properties(row, &config.producer, user),
            )
            .await?;
        confirms.push((row.id, confirm));
    }
    for (id, confirm) in confirms {
        match confirm.await? {
            Confirmation::Ack(_) => {}
            Confirmation::Nack(_) | Confirmation::NotRequested => {
                return Err(RelayError::Nacked(id));
            }
        }
    }
    Ok(())
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

/// Exponential backoff from 100 ms to 30 s.
pub(crate) struct Backoff(u32);

impl Backoff {
    pub(crate) fn new() -> Self {
        Self(0)
    }

    pub(crate) fn next(&mut self) -> Duration {
        let delay =
            Duration::from_millis(100 * 2u64.pow(self.0.min(9))).min(Duration::from_secs(30));
        self.0 += 1;
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.0 = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let mut backoff = Backoff::new();
        assert_eq!(backoff.next(), Duration::from_millis(100));
        assert_eq!(backoff.next(), Duration::from_millis(200));
        for _ in 0..20 {
            backoff.next();
        }
        assert_eq!(backoff.next(), Duration::from_secs(30));
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(100));
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
