use crate::helpers::{Product, TestApp};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_and_metrics_are_served() {
    let app = TestApp::spawn().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None, 200)
        .await;
    for path in [
        "/api/cart",
        "/api/cart/add",
        "/api/cart/update",
        "/api/cart/remove/{product_id}",
        "/api/users/addresses",
        "/api/users/addresses/{id}",
        "/api/orders",
        "/api/orders/{id}",
        "/api/orders/{id}/cancel",
        "/api/driver/orders",
        "/api/driver/orders/{id}/deliver",
        "/api/driver/orders/{id}/fail-delivery",
        "/api/admin/orders",
        "/api/admin/orders/{id}/status",
        "/api/admin/orders/{id}/assign-driver",
        "/api/admin/reports",
        "/api/admin/track-and-trace",
        "/api/compliance/license",
        "/api/compliance/calculate-tax",
        "/api/compliance/validate-delivery-area",
        "/api/analytics/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    let health = app.call(Method::GET, "/health", None, None, 200).await;
    assert_eq!(health["status"], "healthy");
    for check in ["database", "redis", "rabbitmq"] {
        assert!(health["checks"][check].is_object(), "{health}");
    }

    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    app.checkout(&customer.token, address).await;
    app.send(Method::POST, "/api/orders", Some(&serde_json::json!({ "deliveryAddressId": address, "paymentMethodId": uuid::Uuid::new_v4() })), Some(&customer.token)).await;
    let metrics = app.http(None).get("/metrics").await.text;
    assert!(metrics.contains("orders_checkouts_total"), "{metrics}");
    assert!(metrics.contains("code=\"CART_EMPTY\"} 1"), "{metrics}");
    testkit::wait_for("the gauges", std::time::Duration::from_secs(5), || async {
        let m = app.http(None).get("/metrics").await.text;
        m.contains("status=\"pending\"} 1") && m.contains("orders_pending_oldest_age_seconds")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_orders_itself() {
    // Not only at the gateway: a token auth revoked stops working here within the one-second
    // cache of answers, even after it was accepted.
    let app = TestApp::spawn().await;
    let claims = app
        .tokens
        .claims(domain::UserId::new(), domain::Role::Customer, true);
    let token = app.tokens.sign(&claims);
    app.call(Method::GET, "/api/orders", None, Some(&token), 200)
        .await;
    testkit::deny(&claims).await;
    testkit::wait_for(
        "orders to refuse the revoked token",
        std::time::Duration::from_secs(5),
        || async {
            let (status, body) = app
                .send(Method::GET, "/api/orders", None, Some(&token))
                .await;
            status == 401 && body["code"] == "INVALID_TOKEN"
        },
    )
    .await;
}
