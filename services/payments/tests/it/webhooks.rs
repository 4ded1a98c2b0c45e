//! `/webhooks/stripe`: the signature on the raw body, the tolerance, replays, unknown types.

use crate::helpers::{TestApp, WEBHOOK_SECRET};
use serde_json::{Value, json};

async fn post(app: &TestApp, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/webhooks/stripe", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        req = req.header("stripe-signature", signature);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_and_events_stored_once() {
    let app = TestApp::spawn().await;
    let body = json!({ "id": "evt_test_1", "object": "event", "type": "customer.created", "data": { "object": {} } }).to_string();
    let sign = |secret: &str, at: i64| platform::signature::sign(secret, at, body.as_bytes());

    let (status, problem) = post(&app, &body, Some(sign("whsec_wrong", now()))).await;
    assert_eq!(status, 401);
    assert_eq!(problem["code"], "INVALID_TOKEN");
    assert_eq!(
        post(&app, &body, Some(sign(WEBHOOK_SECRET, now() - 301)))
            .await
            .0,
        401
    );
    assert_eq!(post(&app, &body, None).await.0, 400);
    assert_eq!(post(&app, &body, Some("t=abc".into())).await.0, 400);
    // The signature covers the raw bytes: the same JSON re-spaced does not verify.
    let respaced = body.replace(',', ", ");
    assert_eq!(
        post(&app, &respaced, Some(sign(WEBHOOK_SECRET, now())))
            .await
            .0,
        401
    );

    // Unknown types are acknowledged; a replay changes nothing.
    assert_eq!(
        post(&app, &body, Some(sign(WEBHOOK_SECRET, now()))).await.0,
        200
    );
    assert_eq!(
        post(&app, &body, Some(sign(WEBHOOK_SECRET, now()))).await.0,
        200
    );
    let mut conn = app.db.conn().await;
    let stored: i64 = diesel_async::RunQueryDsl::get_result(
        diesel::QueryDsl::count(payments::schema::provider_events::table),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(stored, 1);

    // Signed but not an event.
    let junk = "{\"hello\": 1}";
    let signed = platform::signature::sign(WEBHOOK_SECRET, now(), junk.as_bytes());
    assert_eq!(post(&app, junk, Some(signed)).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_header_past_its_bounds_is_refused_unread() {
    let app = TestApp::spawn().await;
    let body = json!({ "id": "evt_test_bounds", "object": "event", "type": "customer.created", "data": { "object": {} } }).to_string();
    let signed = platform::signature::sign(WEBHOOK_SECRET, now(), body.as_bytes());
    let (timestamp, good) = signed.split_once(',').unwrap();
    let wrong = format!("v1={}", "00".repeat(32));

    // Many entries, the right one last: each used to cost a pass of HMAC over the body.
    let many = format!("{timestamp},{},{good}", [wrong.as_str(); 12].join(","));
    let (status, problem) = post(&app, &body, Some(many)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("too large"),
        "{problem}"
    );
    let long = format!("{timestamp},{good},x={}", "a".repeat(2048));
    assert_eq!(post(&app, &body, Some(long)).await.0, 400);

    // Within bounds (a secret rolling: two signatures), it still verifies.
    let rolling = format!("{timestamp},{wrong},{good}");
    assert_eq!(post(&app, &body, Some(rolling)).await.0, 200);
}
