//! Payments handled per second through the saga step with the sandbox provider: one
//! customer's saved Visa, N `order.payment_requested` events published at once, timed until
//! N `payment.succeeded` events are out (each: the inbox row, the sandbox PaymentIntent, the
//! payment row and the outbox row, relayed). Run with `make bench`; results go in
//! docs/benchmarks.md.

#![expect(clippy::unwrap_used, reason = "a bench fails loudly on broken set-up")]

use domain::Role;
use events::{Event, v1};
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use payments::config::{DEFAULT_PORT, PaymentsConfig, SERVICE};
use payments::startup::{Application, MIGRATIONS};
use platform::{CommonConfig, Shutdown};
use prost::Message;
use std::time::{Duration, Instant};
use testkit::{EventTap, MigrationSource, TestBroker, TestDb, TestTokens};
use uuid::Uuid;

const PAYMENTS: usize = 2_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Test runners list every target's tests with `--list`; this bench has none.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let migrations = [
        MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        },
        MigrationSource {
            embedded: &MIGRATIONS,
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/payments"),
        },
    ];
    let db = TestDb::new("paybench", &migrations).await;
    let broker = TestBroker::new();
    let queue = events::queue_name(&broker.exchange, payments::events::ORDERS_QUEUE);
    broker.track(&queue);
    let tap = EventTap::new(&broker.url, &broker.exchange).await;
    let tokens = TestTokens::new();
    let listener = platform::http::bind("127.0.0.1", 0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("DATABASE_POOL_SIZE".into(), "8".into()),
        ("AMQP_URL".into(), broker.url.clone()),
        ("EVENTS_EXCHANGE".into(), broker.exchange.clone()),
        ("APP_ENV".into(), "test".into()),
        ("RUST_LOG".into(), "warn".into()),
        (
            "PAYMENTS_WEBHOOK_URL".into(),
            format!("http://127.0.0.1:{port}/webhooks/stripe"),
        ),
    ];
    let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
    let config: PaymentsConfig = platform::config::load_from(vars).unwrap();
    let shutdown = Shutdown::new();
    let app = Application::build_with_verifier(
        common,
        config,
        listener,
        shutdown.clone(),
        tokens.verifier(),
    )
    .await
    .unwrap();
    tokio::spawn(app.run_until_stopped());
    testkit::wait_for_consumer(&broker.url, &queue).await;

    let (customer, token) = tokens.token(Role::Customer);
    let saved: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/payments/methods"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "type": "card", "stripePaymentMethodId": "pm_card_visa" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let method = saved["id"].as_str().unwrap().to_owned();

    let conn = Connection::connect(&broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    // As orders' relay sends them: consumers refuse an event its catalog producer did not send.
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(LongString::from("orders")),
    );
    let user = events::Broker::new(broker.url.clone(), "bench")
        .user()
        .to_owned();
    let started = Instant::now();
    for _ in 0..PAYMENTS {
        let event = v1::OrderPaymentRequested {
            order_id: Uuid::new_v4().to_string(),
            order_number: "FS-BENCH".into(),
            customer_id: customer.into_inner().to_string(),
            total_cents: 4599,
            payment_method_id: method.clone(),
            attempt: 1,
            ..Default::default()
        };
        let properties = BasicProperties::default()
            .with_message_id(Uuid::now_v7().to_string().into())
            .with_type(v1::OrderPaymentRequested::TYPE.into())
            .with_content_type("application/x-protobuf".into())
            .with_headers(headers.clone())
            .with_user_id(user.as_str().into());
        channel
            .basic_publish(
                broker.exchange.as_str().into(),
                v1::OrderPaymentRequested::NAME.into(),
                BasicPublishOptions::default(),
                &event.encode_to_vec(),
                properties,
            )
            .await
            .unwrap();
    }
    let published = started.elapsed();
    testkit::wait_for("every payment", Duration::from_secs(600), || async {
        tap.named("payment.succeeded").len() >= PAYMENTS
    })
    .await;
    let elapsed = started.elapsed();
    println!(
        "{PAYMENTS} payments: published in {:.2} s; order.payment_requested → payment.succeeded: {:.2} s, {:.0} payments/s",
        published.as_secs_f64(),
        elapsed.as_secs_f64(),
        PAYMENTS as f64 / elapsed.as_secs_f64()
    );
    shutdown.trigger();
}
