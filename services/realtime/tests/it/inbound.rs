//! Inbound events: proxied to the owning service as the user (services stubbed with
//! wiremock), the answer given as the ack and the room joined on success; `typing` relayed
//! into a joined chat room; every event with an ack id answered, unknown ones included.

use crate::helpers::{TestApp, upstream};
use domain::Role;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const ORDER: &str = "0190f1c4-7b2a-7000-8000-00000000a001";
const TICKET: &str = "0190f1c4-7b2a-7000-8000-00000000c001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_services_not_deployed_get_an_error_ack() {
    let app = TestApp::spawn().await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("track-order", json!({"orderId": ORDER})).await,
        json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": "Live tracking is not available yet."}})
    );
    assert_eq!(
        client.ack("join-chat", json!({"ticketId": TICKET})).await,
        json!({"error": {"code": "SERVICE_UNAVAILABLE", "message": "Live chat is not available yet."}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_event_still_gets_an_ack() {
    let app = TestApp::spawn().await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("made-up", json!({"x": 1})).await,
        json!({"error": {"code": "ROUTE_NOT_FOUND", "message": "No event `made-up` is handled here."}})
    );
    assert_eq!(
        client.ack("track-order", json!("not an object")).await["error"]["code"],
        "VALIDATION_FAILED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_order_asks_tracking_as_the_user_and_joins_the_orders_room() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    let (_, token) = app.token(Role::Customer);
    let tracked = json!({"orderId": ORDER, "status": "out_for_delivery", "eta": 12});
    Mock::given(method("GET"))
        .and(path(format!("/api/orders/{ORDER}/tracking")))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        // The client's address, not realtime's alone, for tracking's limits and audit.
        .and(header("x-forwarded-for", "127.0.0.1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&tracked))
        .expect(1)
        .mount(&tracking)
        .await;
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("track-order", json!({"orderId": ORDER})).await,
        tracked
    );
    // In the order's room now: its live events arrive.
    app.publish_ephemeral(&json!({
        "room": format!("order:{ORDER}"),
        "event": "driver-location",
        "data": {"lat": 33.4, "lng": -112.0},
    }))
    .await;
    assert_eq!(
        client.event().await,
        Some((
            "driver-location".into(),
            vec![json!({"lat": 33.4, "lng": -112.0})]
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_of_the_owning_service_is_the_ack_and_no_room_is_joined() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    let (_, token) = app.token(Role::Customer);
    Mock::given(method("GET"))
        .and(path(format!("/api/orders/{ORDER}/tracking")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "type": "about:blank", "status": 404, "code": "NOT_FOUND",
            "title": "Not found", "detail": "No such order of yours."
        })))
        .mount(&tracking)
        .await;
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("track-order", json!({"orderId": ORDER})).await,
        json!({"error": {"code": "NOT_FOUND", "message": "No such order of yours."}})
    );
    app.publish_ephemeral(&json!({
        "room": format!("order:{ORDER}"), "event": "driver-location", "data": {}
    }))
    .await;
    assert!(
        client.quiet_for(Duration::from_millis(400)).await,
        "not in the room"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_field_must_be_a_uuid_and_nothing_is_sent_otherwise() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    let answer = client
        .ack("track-order", json!({"orderId": "../../admin"}))
        .await;
    assert_eq!(
        answer,
        json!({"error": {"code": "VALIDATION_FAILED", "message": "`orderId` must be a UUID."}})
    );
    assert!(tracking.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_does_not_answer_in_time_gives_upstream_timeout() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&tracking)
        .await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("track-order", json!({"orderId": ORDER})).await["error"]["code"],
        "UPSTREAM_TIMEOUT"
    );
    // The connection lived on meanwhile (pings answered while the handler waited).
    assert_eq!(
        client.ack("made-up", json!({})).await["error"]["code"],
        "ROUTE_NOT_FOUND"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_location_updates_are_posted_to_tracking_with_their_payload() {
    let tracking = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_TRACKING", &tracking.uri())]).await;
    let (_, token) = app.token(Role::Driver);
    let location =
        json!({"orderId": ORDER, "lat": 33.45, "lng": -112.07, "heading": 90, "speed": 11.2});
    Mock::given(method("POST"))
        .and(path("/api/driver/location"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(body_json(&location))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"accepted": true})))
        .expect(1)
        .mount(&tracking)
        .await;
    let mut client = app.connect(&token).await;
    assert_eq!(
        client.ack("driver-location-update", location).await,
        json!({"accepted": true})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_relayed_only_into_a_joined_chat_room_without_the_sender() {
    let chat = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_CHAT", &chat.uri())]).await;
    Mock::given(method("GET"))
        .and(path(format!("/api/support/tickets/{TICKET}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": TICKET})))
        .mount(&chat)
        .await;
    let (customer, customer_token) = app.token(Role::Customer);
    let (_, agent_token) = app.token(Role::Agent);
    let (_, stranger_token) = app.token(Role::Customer);
    let mut as_customer = app.connect(&customer_token).await;
    let mut as_agent = app.connect(&agent_token).await;
    let mut stranger = app.connect(&stranger_token).await;

    // Not in the room: refused, and nobody hears it.
    assert_eq!(
        stranger.ack("typing", json!({"ticketId": TICKET})).await["error"]["code"],
        "FORBIDDEN"
    );
    for client in [&mut as_customer, &mut as_agent] {
        assert_eq!(
            client.ack("join-chat", json!({"ticketId": TICKET})).await,
            json!({"id": TICKET})
        );
    }
    assert_eq!(
        as_customer.ack("typing", json!({"ticketId": TICKET})).await,
        json!({"delivered": 1})
    );
    assert_eq!(
        as_agent.event().await,
        Some((
            "user-typing".into(),
            vec![json!({"userId": customer, "ticketId": TICKET})]
        ))
    );
    assert!(as_customer.quiet_for(Duration::from_millis(300)).await);
    assert!(stranger.quiet_for(Duration::from_millis(100)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_without_an_ack_id_are_handled_too() {
    let chat = upstream().await;
    let app = TestApp::spawn_with(&[("REALTIME_UPSTREAM_CHAT", &chat.uri())]).await;
    Mock::given(method("POST"))
        .and(path(format!("/api/support/tickets/{TICKET}/messages")))
        .and(body_json(json!({"ticketId": TICKET, "message": "hello"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&chat)
        .await;
    let (_, token) = app.token(Role::Customer);
    let mut client = app.connect(&token).await;
    client
        .emit(
            "send-message",
            json!({"ticketId": TICKET, "message": "hello"}),
        )
        .await;
    testkit::wait_for("the message posted", Duration::from_secs(5), || {
        let chat = &chat;
        async move { chat.received_requests().await.unwrap().len() == 1 }
    })
    .await;
}
