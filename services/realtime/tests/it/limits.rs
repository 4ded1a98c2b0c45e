//! Every limit on a socket, refused with an answer and counted: events per second, the size of
//! an event, the rooms joined, and `maxPayload` (the transport's limit, which closes).

use crate::helpers::{TestApp, counted, upstream};
use domain::Role;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_past_its_events_per_second_is_answered_rate_limited() {
    let app = TestApp::spawn_with(&[
        ("REALTIME_EVENTS_PER_SECOND", "1"),
        ("REALTIME_EVENT_BURST", "3"),
    ])
    .await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    for _ in 0..3 {
        assert_eq!(
            client.ack("made-up", json!({})).await["error"]["code"],
            "ROUTE_NOT_FOUND"
        );
    }
    assert_eq!(
        client.ack("made-up", json!({})).await,
        json!({"error": {"code": "RATE_LIMITED", "message": "At most 1 events a second; slow down."}})
    );
    // Another socket has its own allowance.
    let (_, other) = app.token(Role::Customer);
    let mut other = app.connect(&other).await;
    assert_eq!(
        other.ack("made-up", json!({})).await["error"]["code"],
        "ROUTE_NOT_FOUND"
    );
    // A second later, one more.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        client.ack("made-up", json!({})).await["error"]["code"],
        "ROUTE_NOT_FOUND"
    );
    assert!(counted(
        &app.metrics().await,
        "realtime_refusals_total",
        "reason=\"rate\""
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_over_the_size_limit_is_answered_payload_too_large() {
    let app = TestApp::spawn_with(&[("REALTIME_MAX_EVENT_BYTES", "100")]).await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    assert_eq!(
        client
            .ack("send-message", json!({"message": "x".repeat(200)}))
            .await,
        json!({"error": {"code": "PAYLOAD_TOO_LARGE", "message": "An event may carry at most 100 bytes."}})
    );
    assert!(counted(
        &app.metrics().await,
        "realtime_refusals_total",
        "reason=\"payload_size\""
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_cannot_join_more_than_its_rooms() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[
        ("REALTIME_UPSTREAM_TRACKING", &tracking.uri()),
        ("REALTIME_MAX_ROOMS", "3"),
    ])
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&tracking)
        .await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    // Its own `user:` room, and two orders.
    for _ in 0..2 {
        let order = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            client.ack("track-order", json!({"orderId": order})).await,
            json!({})
        );
    }
    let order = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        client.ack("track-order", json!({"orderId": order})).await,
        json!({"error": {"code": "BUSINESS_RULE", "message": "A connection may follow at most 3 rooms."}})
    );
    assert_eq!(
        tracking.received_requests().await.unwrap().len(),
        2,
        "refused before asking tracking"
    );
    assert!(counted(
        &app.metrics().await,
        "realtime_refusals_total",
        "reason=\"rooms\""
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_max_payload_closes_the_connection() {
    let app = TestApp::spawn_with(&[("REALTIME_MAX_PAYLOAD", "2048")]).await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    client
        .emit("send-message", json!({"message": "x".repeat(4096)}))
        .await;
    assert!(client.closed_within(Duration::from_secs(2)).await);
    assert!(counted(
        &app.metrics().await,
        "socketio_sessions_closed_total",
        "reason=\"payload too large\""
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_past_an_addresss_limit_are_refused_on_every_replica() {
    let a = TestApp::spawn_with(&[("REALTIME_HANDSHAKES_PER_MINUTE", "3")]).await;
    let b = a.another(&[("REALTIME_HANDSHAKES_PER_MINUTE", "3")]).await;
    let http = reqwest::Client::new();
    // The address the gateway determined for the client.
    let handshake = |base: &str, ip: &str| {
        http.get(format!("{base}/socket.io/?EIO=4&transport=polling"))
            .header("x-forwarded-for", ip)
            .send()
    };
    let mut sid = String::new();
    for base in [&a.base, &b.base, &a.base] {
        let open = handshake(base, "203.0.113.7").await.unwrap();
        assert_eq!(open.status(), 200);
        let open = open.text().await.unwrap();
        sid = serde_json::from_str::<serde_json::Value>(&open[1..]).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    // The fourth of the minute, on either replica: counted in Redis for both.
    let refused = handshake(&b.base, "203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    // The address's open sessions go on; other addresses are not held back.
    let (_, token) = a.token(Role::Customer);
    let posted = http
        .post(format!(
            "{}/socket.io/?EIO=4&transport=polling&sid={sid}",
            a.base
        ))
        .header("x-forwarded-for", "203.0.113.7")
        .body(format!("40{}", json!({ "token": token })))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(
        handshake(&a.base, "203.0.113.8").await.unwrap().status(),
        200
    );
    assert!(counted(
        &b.metrics().await,
        "realtime_refusals_total",
        "reason=\"handshakes\""
    ));
}
