//! The transactional outbox: an event is a row written in the producer's own transaction, so
//! it is published if and only if the change that caused it commits.

use crate::contracts::Event;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

diesel::table! {
    /// Created by `events::MIGRATIONS` in each service's schema.
    outbox (id) {
        id -> Uuid,
        routing_key -> Text,
        message_type -> Text,
        payload -> Bytea,
        correlation_id -> Nullable<Text>,
        traceparent -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// The consumer inbox, also from `events::MIGRATIONS`.
    processed_events (event_id, consumer) {
        event_id -> Uuid,
        consumer -> Text,
        processed_at -> Timestamptz,
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxRow<'a> {
    id: Uuid,
    routing_key: &'a str,
    message_type: &'a str,
    payload: Vec<u8>,
    correlation_id: Option<&'a str>,
    traceparent: Option<String>,
}

/// A row waiting for (or past) the relay.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: Uuid,
    pub routing_key: String,
    pub message_type: String,
    pub payload: Vec<u8>,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Writes `event` to the outbox on `conn`, which should be inside the transaction making the
/// change the event announces. `correlation_id` ties the saga together (the order id, or the
/// request id). Returns the event id (UUIDv7, so ids sort by time).
pub async fn publish<E: Event>(
    conn: &mut AsyncPgConnection,
    event: &E,
    correlation_id: Option<&str>,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(outbox::table)
        .values(NewOutboxRow {
            id,
            routing_key: E::NAME,
            message_type: E::TYPE,
            payload: event.encode_to_vec(),
            correlation_id,
            traceparent: platform::telemetry::current_traceparent(),
        })
        .execute(conn)
        .await?;
    Ok(id)
}

/// How many events are waiting, and how old the oldest is.
pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .first(conn)
        .await
}

/// Locks up to `limit` unsent rows, oldest first, skipping rows another relay holds and the
/// `skipped` ones (rows this relay holds back until their queue exists).
pub(crate) async fn lock_unsent(
    conn: &mut AsyncPgConnection,
    limit: i64,
    skipped: &[Uuid],
) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::id.ne_all(skipped))
        .order((outbox::created_at, outbox::id))
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(OutboxRow::as_select())
        .load(conn)
        .await
}

pub(crate) async fn mark_sent(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set(outbox::sent_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

/// Deletes rows sent before `before`; sent rows are kept a while for investigation.
pub(crate) async fn prune_sent(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::sent_at.lt(before)))
        .execute(conn)
        .await
}

/// Records that `consumer` handled `event_id`; `false` if it already had.
pub(crate) async fn record_processed(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    consumer: &str,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(processed_events::table)
        .values((
            processed_events::event_id.eq(event_id),
            processed_events::consumer.eq(consumer),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
