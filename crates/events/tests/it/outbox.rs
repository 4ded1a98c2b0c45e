//! Publishing through the outbox and the relay.

use crate::support::{Bus, Recorder, product_deleted};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::collections::BTreeMap;

#[tokio::test]
async fn an_event_written_in_a_transaction_reaches_a_consumer() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    bus.start_relay();

    let id = bus.publish(1).await;

    bus.wait_for_versions(1).await;
    let effects = bus.effects().await;
    assert_eq!(effects.len(), 1);
    let (event_id, version, correlation_id, producer) = &effects[0];
    assert_eq!(*event_id, id, "the event id travels as the AMQP message id");
    assert_eq!(*version, 1);
    assert_eq!(correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(producer.as_deref(), Some("catalog"));
    testkit::wait_for(
        "the outbox row to be marked sent",
        crate::support::TIMEOUT,
        || async { bus.unsent().await == 0 },
    )
    .await;
    bus.stop().await;
}

#[tokio::test]
async fn a_rolled_back_transaction_publishes_nothing() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    bus.start_relay();

    let mut conn = bus.db.conn().await;
    let rolled_back = conn
        .transaction(async |conn: &mut AsyncPgConnection| {
            events::outbox::publish(conn, &product_deleted(13), None).await?;
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(rolled_back.is_err());
    // A committed marker after it: once the marker arrives, the rolled-back event would
    // have too.
    bus.publish(14).await;

    let versions = bus.wait_for_versions(1).await;
    assert_eq!(versions, vec![14]);
    let rows: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM outbox)",
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows, 1, "the rolled-back row never existed");
    bus.stop().await;
}

#[tokio::test]
async fn two_relays_deliver_every_event_exactly_once_to_consumers() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    bus.start_relay();
    bus.start_relay();

    // Writers in parallel, so both relays find work at the same time.
    let mut writers = Vec::new();
    for writer in 0..4i64 {
        let url = bus.db.url.clone();
        writers.push(tokio::spawn(async move {
            let mut conn = platform::db::connect(&url, "evtest").await.unwrap();
            for i in 0..75i64 {
                let version = writer * 1000 + i;
                conn.transaction(async |conn: &mut AsyncPgConnection| {
                    events::outbox::publish(conn, &product_deleted(version), None).await
                })
                .await
                .unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }

    let versions = bus.wait_for_versions(300).await;
    let mut counts = BTreeMap::new();
    for version in versions {
        *counts.entry(version).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 300, "every event arrived");
    assert!(
        counts.values().all(|&n| n == 1),
        "each effect happened once"
    );
    assert_eq!(bus.unsent().await, 0);
    bus.stop().await;
}

#[tokio::test]
async fn a_resent_event_is_recognised_by_the_inbox() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    bus.start_relay();
    let first = bus.publish(1).await;
    bus.wait_for_versions(1).await;
    testkit::wait_for("row marked sent", crate::support::TIMEOUT, || async {
        bus.unsent().await == 0
    })
    .await;

    // What a relay crash between the broker's confirm and the commit looks like: the same
    // row, same event id, sent a second time.
    let mut conn = bus.db.conn().await;
    diesel::sql_query("UPDATE outbox SET sent_at = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    testkit::wait_for("the row re-sent", crate::support::TIMEOUT, || async {
        bus.unsent().await == 0
    })
    .await;
    bus.publish(2).await;

    let versions = bus.wait_for_versions(2).await;
    assert_eq!(versions, vec![1, 2], "the re-sent event changed nothing");
    let effects = bus.effects().await;
    assert_eq!(effects[0].0, first);
    bus.stop().await;
}
