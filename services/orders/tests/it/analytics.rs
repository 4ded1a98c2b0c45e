use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_events_are_bounded_and_feed_the_report() {
    let app = TestApp::spawn().await;
    let (customer, _) = app.customer().await;
    let one =
        json!({ "event": "page_view", "properties": { "page": "/products" }, "sessionId": "s-1" });
    let accepted = app
        .call(
            Method::POST,
            "/api/analytics/events",
            Some(&one),
            Some(&customer.token),
            202,
        )
        .await;
    assert_eq!(accepted["accepted"], 1);
    let batch = json!({ "events": [{ "event": "search" }, { "event": "add_to_cart", "properties": { "productId": "x" } }] });
    app.call(
        Method::POST,
        "/api/analytics/events",
        Some(&batch),
        None,
        202,
    )
    .await;

    let too_big = json!({ "event": "page_view", "properties": { "blob": "x".repeat(5000) } });
    let (status, body) = app
        .send(Method::POST, "/api/analytics/events", Some(&too_big), None)
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str().unwrap()),
        (400, "properties")
    );
    let bad_name = json!({ "events": [{ "event": "ok" }, { "event": "Not OK" }] });
    let (status, body) = app
        .send(Method::POST, "/api/analytics/events", Some(&bad_name), None)
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str().unwrap()),
        (400, "events[1].event")
    );
    let many = json!({ "events": (0..51).map(|_| json!({ "event": "x" })).collect::<Vec<_>>() });
    app.call(
        Method::POST,
        "/api/analytics/events",
        Some(&many),
        None,
        400,
    )
    .await;

    // A driver registered today is not a customer; the customer is new and active.
    app.user(
        Role::Driver,
        v1::IdVerificationStatus::NotSubmitted,
        "1980-01-01",
    )
    .await;
    let report = app
        .call(
            Method::GET,
            "/api/admin/reports",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(report["users"]["total"], 1);
    assert_eq!(report["users"]["newUsers"], 1);
    assert_eq!(report["users"]["activeUsers"], 1);
    assert_eq!(report["orders"]["placed"], 0);
    assert_eq!(report["orders"]["revenue"], "0.00");
    let old = app
        .call(
            Method::GET,
            "/api/admin/reports?from=2020-01-01&to=2020-01-31",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(old["users"]["newUsers"], 0);
    app.call(
        Method::GET,
        "/api/admin/reports?from=2026-02-01&to=2026-01-01",
        None,
        Some(&app.admin),
        400,
    )
    .await;
    app.call(
        Method::GET,
        "/api/admin/reports?from=soon",
        None,
        Some(&app.admin),
        400,
    )
    .await;
}
