//! What on-call reads: `/health` (the adapter's subscription, the Redis channels, the bus
//! consumer) and `/metrics` (sockets by transport, events in and out by name, proxy latency to
//! each service, fan-out latency from publish to socket write).

use crate::helpers::{Shared, TestApp, counted, upstream};
use domain::Role;
use events::v1;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_adapter_the_channels_and_the_consumer() {
    let app = TestApp::spawn().await;
    let health = app.http().get("/health").await;
    assert_eq!(health.status, 200, "{}", health.text);
    let report = health.json();
    assert_eq!(report["status"], "healthy");
    for check in ["redis", "redis_channels", "rabbitmq"] {
        assert_eq!(
            report["checks"][check]["status"], "healthy",
            "{check}: {report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_replica_is_not_ready() {
    // Rooms would stop at this replica, and revocations and driver locations be missed.
    let app = TestApp::start(Shared::new(), &[("REDIS_URL", "redis://127.0.0.1:1/")]).await;
    let health = app.http().get("/health").await;
    assert_eq!(health.status, 503, "{}", health.text);
    let report = health.json();
    for check in ["redis", "redis_channels"] {
        assert_eq!(
            report["checks"][check]["status"], "unhealthy",
            "{check}: {report}"
        );
    }
    assert_eq!(app.http().get("/health/live").await.status, 200);
}

/// Opens a polling session and connects it with `token`; answers its `sid`.
async fn polling_socket(app: &TestApp, token: &str) -> String {
    let http = reqwest::Client::new();
    let url = format!("{}/socket.io/?EIO=4&transport=polling", app.base);
    let open = http.get(&url).send().await.unwrap().text().await.unwrap();
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = format!("{url}&sid={sid}");
    let posted = http
        .post(&session)
        .body(format!("40{}", json!({ "token": token })))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let connected = http
        .get(&session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(connected.starts_with("40{\"sid\""), "{connected}");
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sockets_events_and_latencies() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&tracking)
        .await;
    let (customer, token) = app.token(Role::Customer);
    let mut on_websocket = app.connect(&token).await;
    polling_socket(&app, &token).await;

    let order = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        on_websocket
            .ack("track-order", json!({"orderId": order}))
            .await,
        json!({})
    );
    on_websocket.ack("made-up", json!({})).await;
    app.publish(&v1::OrderStatusChanged {
        order_id: order.clone(),
        customer_id: customer,
        status: v1::OrderStatus::Confirmed as i32,
        ..Default::default()
    })
    .await;
    let (name, _) = on_websocket.event().await.expect("order-status");
    assert_eq!(name, "order-status");

    let metrics = app.metrics().await;
    for (name, label) in [
        ("socketio_sessions", "transport=\"websocket\""),
        ("socketio_sessions", "transport=\"polling\""),
        ("realtime_connections_total", "role=\"customer\""),
        ("realtime_events_in_total", "event=\"track-order\""),
        // A name a client made up is counted under one label, not its own.
        ("realtime_events_in_total", "event=\"other\""),
        ("realtime_events_out_total", "event=\"order-status\""),
        ("realtime_proxy_seconds_count", "upstream=\"tracking\""),
        ("socketio_fanout_seconds_count", "transport=\"websocket\""),
    ] {
        assert!(
            counted(&metrics, name, label),
            "{name}{{{label}}} in\n{metrics}"
        );
    }
    assert!(!metrics.contains("event=\"made-up\""));
    // Every series is realtime's own (the platform's `service` label), the proxied service
    // under `upstream`.
    for line in metrics.lines().filter(|line| line.starts_with("realtime_")) {
        assert!(line.contains("service=\"realtime\""), "{line}");
    }
}
