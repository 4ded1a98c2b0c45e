//! Outbound events: `order.status_changed` from the bus to the customer's and the order's
//! rooms, refused from anyone but orders; ephemeral events from the Redis channel.

use crate::helpers::{TestApp, upstream};
use domain::Role;
use events::v1;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

fn status_changed(order: &str, customer: &str) -> v1::OrderStatusChanged {
    v1::OrderStatusChanged {
        order_id: order.into(),
        order_number: "FS-1001".into(),
        customer_id: customer.into(),
        previous_status: v1::OrderStatus::Confirmed as i32,
        status: v1::OrderStatus::Preparing as i32,
        stock_status: v1::StockStatus::Reserved as i32,
        payment_status: v1::PaymentStatus::Succeeded as i32,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_status_change_reaches_the_customer_and_the_orders_watchers_only() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&tracking)
        .await;
    let order = uuid::Uuid::now_v7().to_string();
    let (customer, customer_token) = app.token(Role::Customer);
    let (_, driver_token) = app.token(Role::Driver);
    let (_, other_token) = app.token(Role::Customer);
    let mut as_customer = app.connect(&customer_token).await;
    let mut as_driver = app.connect(&driver_token).await;
    let mut other = app.connect(&other_token).await;
    // The driver follows the order (tracking allowed it).
    assert_eq!(
        as_driver
            .ack("track-order", json!({"orderId": order}))
            .await,
        json!({})
    );

    app.publish(&status_changed(&order, &customer)).await;
    for client in [&mut as_customer, &mut as_driver] {
        let (name, args) = client.event().await.expect("order-status");
        assert_eq!(name, "order-status");
        assert_eq!(args[0]["orderId"], order.as_str());
        assert_eq!(args[0]["status"], "preparing");
        assert_eq!(args[0]["previousStatus"], "confirmed");
        assert_eq!(args[0]["paymentStatus"], "succeeded");
    }
    assert!(other.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_from_another_producer_is_not_emitted() {
    let app = TestApp::spawn().await;
    let order = uuid::Uuid::now_v7().to_string();
    let (customer, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    // Published as catalog: the catalog names orders as its producer.
    let conn = lapin::Connection::connect(&app.broker.url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let mut headers = lapin::types::FieldTable::default();
    headers.insert(
        "producer".into(),
        lapin::types::AMQPValue::LongString("catalog".into()),
    );
    use prost::Message;
    channel
        .basic_publish(
            app.broker.exchange.as_str().into(),
            "order.status_changed".into(),
            lapin::options::BasicPublishOptions::default(),
            &status_changed(&order, &customer).encode_to_vec(),
            lapin::BasicProperties::default()
                .with_message_id(uuid::Uuid::now_v7().to_string().into())
                .with_user_id("guest".into())
                .with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(client.quiet_for(Duration::from_millis(800)).await);
    // Dead-lettered for on-call, not dropped.
    let dlq = format!(
        "{}.dlq",
        events::queue_name(&app.broker.exchange, realtime::events::EVENTS_QUEUE)
    );
    let options = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    testkit::wait_for(
        "the refused event in the DLQ",
        Duration::from_secs(5),
        || {
            let (conn, dlq) = (&conn, &dlq);
            async move {
                let Ok(probe) = conn.create_channel().await else {
                    return false;
                };
                probe
                    .queue_declare(
                        dlq.as_str().into(),
                        options,
                        lapin::types::FieldTable::default(),
                    )
                    .await
                    .is_ok_and(|queue| queue.message_count() == 1)
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_events_reach_their_rooms_and_others_are_dropped() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    let room = format!("user:{customer}");
    // Not an event services may publish there.
    app.publish_ephemeral(&json!({"room": room, "event": "order-status", "data": {}}))
        .await;
    app.publish_ephemeral(
        &json!({"rooms": [room], "event": "driver-location", "data": {"lat": 1}}),
    )
    .await;
    assert_eq!(
        client.event().await,
        Some(("driver-location".into(), vec![json!({"lat": 1})]))
    );
    assert!(client.quiet_for(Duration::from_millis(300)).await);
}
