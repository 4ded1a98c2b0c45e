//! Events between services: the contracts generated from `proto/`, the transactional outbox
//! and its relay to RabbitMQ, and the consumer with its inbox.
//!
//! A producer calls [`outbox::publish`] inside the diesel transaction that changes its state;
//! the [`relay::Relay`] running in the same binary sends the row to the topic exchange with
//! publisher confirms. A consumer runs a [`consumer::Consumer`] whose handler is called inside
//! a transaction that also records the event id, and the message is acknowledged only after
//! that transaction commits. See `proto/README.md` for the catalog and wire conventions.
//!
//! Every queue the services consume is declared at deploy time by the broker definitions
//! ([`contracts::QUEUES`]), the relay publishes `mandatory` and keeps an event no queue took,
//! and `/health` ([`BrokerCheck`]) is ready only while every consumer is attached.

pub mod audit;
pub mod broker;
pub mod consumer;
pub mod contracts;
pub mod live;
pub mod outbox;
pub mod relay;
pub mod sealed;
mod status;
mod tracecontext;

pub use broker::{Broker, BrokerCheck};
pub use consumer::{Consumer, ConsumerConfig, Handler, HandlerError, IncomingEvent};
pub use contracts::{Event, v1};
pub use live::{LiveConsumer, LiveHandler};
pub use relay::{Relay, RelayConfig};

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The outbox and inbox tables; run into a service's schema before its own migrations
/// (`platform::db::migrate(url, schema, &[&events::MIGRATIONS, &MIGRATIONS])`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Where [`MIGRATIONS`] come from on disk (test databases fingerprint their templates by it).
pub const MIGRATIONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

/// The exchange every event is published to, unless configured otherwise (tests use one per
/// test).
pub const DEFAULT_EXCHANGE: &str = "faded_skies.events";

/// A protobuf timestamp of `at`.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The instant of a protobuf timestamp, if it is one chrono can hold.
pub fn from_timestamp(at: prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0))
}

/// The name of a consumer's queue on `exchange`: the plain name on the real exchange, and
/// prefixed by the exchange elsewhere, so tests that each use their own exchange also get
/// their own queues.
pub fn queue_name(exchange: &str, queue: &str) -> String {
    if exchange == DEFAULT_EXCHANGE {
        queue.to_owned()
    } else {
        format!("{exchange}.{queue}")
    }
}
