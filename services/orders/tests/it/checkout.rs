use crate::helpers::{Customer, Product, TestApp, registered, state, texas_rules};
use chrono::{Duration, Utc};
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn refused(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    app.send(Method::POST, "/api/orders", Some(body), Some(token))
        .await
}

fn order_body(address: Uuid) -> Value {
    json!({ "deliveryAddressId": address, "paymentMethodId": Uuid::new_v4() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_stores_a_pending_order_announces_it_and_clears_the_cart() {
    let app = TestApp::spawn().await;
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 3).await;
    let method = Uuid::new_v4();
    let body = json!({
        "deliveryAddressId": address, "paymentMethodId": method,
        "specialInstructions": "Leave with the concierge", "pointsToRedeem": 150,
    });
    let order = app
        .call(
            Method::POST,
            "/api/orders",
            Some(&body),
            Some(&customer.token),
            201,
        )
        .await;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["stockStatus"], "pending");
    assert_eq!(order["paymentStatus"], "pending");
    // The guide's names beside ours: `userId`, and no ETA until tracking publishes one.
    assert_eq!(order["userId"], customer.id.to_string());
    assert_eq!(order["userId"], order["customerId"]);
    assert!(order["estimatedDeliveryTime"].is_null());
    assert!(
        order
            .as_object()
            .unwrap()
            .contains_key("estimatedDeliveryTime")
    );
    // 3 × $40.00 = $120.00 of flower to downtown Austin, worked by hand:
    // state 6.25 % = 7.50, excise 15 % = 18.00, city 1 % = 1.20, transit 1 % = 1.20.
    assert_eq!(order["subtotal"], "120.00");
    assert_eq!(order["taxAmount"], "27.90");
    // Free delivery from $100.00.
    assert_eq!(order["deliveryFee"], "0.00");
    assert_eq!(order["totalAmount"], "147.90");
    let taxes: Vec<(&str, &str)> = order["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["percent"].as_str().unwrap(),
                t["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        taxes,
        vec![
            ("6.25", "7.50"),
            ("15", "18.00"),
            ("1", "1.20"),
            ("1", "1.20")
        ]
    );
    assert!(order["orderNumber"].as_str().unwrap().starts_with("FS-"));
    assert_eq!(order["items"][0]["quantity"], 3);
    assert_eq!(order["deliveryAddress"]["zipCode"], "78701");
    assert_eq!(
        order["deliveryAddress"]["deliveryInstructions"],
        "Ring twice"
    );
    assert_eq!(order["statusHistory"].as_array().unwrap().len(), 1);

    let submitted: v1::OrderSubmitted = app
        .tap
        .find("order.submitted", |e: &v1::OrderSubmitted| {
            e.order_id == order["id"].as_str().unwrap()
        })
        .await;
    assert_eq!(submitted.total_cents, 14790);
    assert_eq!(submitted.tax_cents, 2790);
    assert_eq!(submitted.points_to_redeem, 150);
    assert_eq!(submitted.payment_method_id, method.to_string());
    assert_eq!(submitted.lines[0].net_weight_mg, 3500);
    assert_eq!(submitted.destination.unwrap().zip, "78701");
    let audit: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "order.submitted"
        })
        .await;
    assert_eq!(audit.subject_id, order["id"].as_str().unwrap());

    let cart = app
        .call(Method::GET, "/api/cart", None, Some(&customer.token), 200)
        .await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 0);
    let list = app
        .call(
            Method::GET,
            "/api/orders?status=pending",
            None,
            Some(&customer.token),
            200,
        )
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["orders"][0]["id"], order["id"]);
    let none = app
        .call(
            Method::GET,
            "/api/orders?status=delivered",
            None,
            Some(&customer.token),
            200,
        )
        .await;
    assert_eq!(none["total"], 0);
    app.call(
        Method::GET,
        "/api/orders?status=lost",
        None,
        Some(&customer.token),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_idempotency_key_answers_the_same_order() {
    let app = TestApp::spawn().await;
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    let body = order_body(address);
    // testkit's client sends no custom headers; the key needs one.
    let client = reqwest::Client::new();
    let send = |body: Value| {
        let req = client
            .post(format!("{}/api/orders", app.base))
            .bearer_auth(&customer.token)
            .header("Idempotency-Key", "checkout-1")
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The cart is empty now, yet the repeat answers the order it made.
    let again = send(body.clone()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["Idempotent-Replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let mut other = body;
    other["specialInstructions"] = json!("Different");
    let reused = send(other).await;
    assert_eq!(reused.status(), 422);
    let reused: Value = reused.json().await.unwrap();
    assert_eq!(reused["code"], "IDEMPOTENCY_KEY_REUSED");
    let list = app
        .call(Method::GET, "/api/orders", None, Some(&customer.token), 200)
        .await;
    assert_eq!(list["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_refuses_what_the_rules_forbid_each_with_its_code() {
    let app = TestApp::spawn().await;
    let flower = app.product(Product::flower()).await;
    let cheap = app
        .product(Product {
            price_cents: 1000,
            ..Product::flower()
        })
        .await;

    // Unverified ID (pending), then suspended.
    for (id_status, account, code, http) in [
        (
            v1::IdVerificationStatus::Pending,
            v1::AccountStatus::Active,
            "ID_VERIFICATION_REQUIRED",
            403,
        ),
        (
            v1::IdVerificationStatus::Approved,
            v1::AccountStatus::Suspended,
            "ACCOUNT_SUSPENDED",
            403,
        ),
    ] {
        let id = Uuid::new_v4();
        app.publish(
            &registered(
                id,
                1,
                Role::Customer,
                v1::IdVerificationStatus::Approved,
                v1::AccountStatus::Active,
                "1990-01-01",
            ),
            None,
        )
        .await;
        app.wait_for_row(
            "user",
            format!("SELECT count(*) AS n FROM users WHERE id = '{id}'"),
        )
        .await;
        let token = app.token(id, Role::Customer);
        let address = app.address(&token, "78701").await;
        app.add_to_cart(&token, flower, 1).await;
        // A revoked verification or a suspension applies at once (the read model).
        app.publish(
            &v1::UserStatusChanged {
                user_id: id.to_string(),
                user: Some(state(2, Role::Customer, id_status, account, "1990-01-01")),
                ..Default::default()
            },
            None,
        )
        .await;
        app.wait_for_row(
            "update",
            format!("SELECT count(*) AS n FROM users WHERE id = '{id}' AND version = 2"),
        )
        .await;
        let (status, body) = refused(&app, &token, &order_body(address)).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (http, code),
            "{body}"
        );
    }

    let (customer, address) = app.customer().await;
    let token = customer.token.clone();
    // Empty cart.
    let (status, body) = refused(&app, &token, &order_body(address)).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "CART_EMPTY")
    );
    // Someone else's address.
    let (other, others_address) = app.customer().await;
    app.add_to_cart(&token, cheap, 1).await;
    let (status, _) = refused(&app, &token, &order_body(others_address)).await;
    assert_eq!(status, 404);
    // Below the minimum ($25.00): one $10.00 package.
    let (status, body) = refused(&app, &token, &order_body(address)).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "UNDER_MINIMUM_ORDER"),
        "{body}"
    );
    assert_eq!(body["minimum"], "25.00");
    // Outside the area: San Antonio.
    let far = app.address(&token, "78205").await;
    app.add_to_cart(&token, flower, 1).await;
    let (status, body) = refused(&app, &token, &order_body(far)).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "OUTSIDE_DELIVERY_AREA"),
        "{body}"
    );
    // Points that would leave less than the card minimum, and a missing payment method.
    let total = app
        .call(Method::GET, "/api/cart", None, Some(&token), 200)
        .await["estimate"]["total"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse::<i64>()
        .unwrap();
    let body = json!({ "deliveryAddressId": address, "paymentMethodId": Uuid::new_v4(), "pointsToRedeem": total - 10 });
    let (status, problem) = refused(&app, &token, &body).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (422, "BUSINESS_RULE"),
        "{problem}"
    );
    let (status, problem) = refused(&app, &token, &json!({ "deliveryAddressId": address })).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str().unwrap()),
        (400, "paymentMethodId")
    );
    let (status, _) = refused(&app, &token, &json!({ "deliveryAddressId": "not-a-uuid" })).await;
    assert_eq!(status, 400);
    // None of the refusals made an order; the audited ones left an entry.
    let list = app
        .call(Method::GET, "/api/orders", None, Some(&token), 200)
        .await;
    assert_eq!(list["total"], 0);
    let refusal: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "order.refused" && e.details_json.contains("OUTSIDE_DELIVERY_AREA")
        })
        .await;
    assert_eq!(refusal.actor_id, customer.id.to_string());
    drop(other);
}

/// Adds `quantity` of a product with `net_weight_mg` / `thc_mg` per package to a new
/// customer's cart and tries to check out.
async fn try_limit(
    app: &TestApp,
    customer: &Customer,
    address: Uuid,
    product: Product,
    quantity: u32,
) -> (u16, Value) {
    let id = app.product(product).await;
    app.add_to_cart(&customer.token, id, quantity).await;
    let result = refused(app, &customer.token, &order_body(address)).await;
    if result.0 != 201 {
        // A refused checkout keeps the cart; empty it for the next try.
        app.call(
            Method::DELETE,
            &format!("/api/cart/remove/{id}"),
            None,
            Some(&customer.token),
            200,
        )
        .await;
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_purchase_limits_count_today_s_orders_and_this_cart() {
    let app = TestApp::spawn().await;
    let (customer, address) = app.customer().await;
    let ounce_half = |mg| Product {
        net_weight_mg: mg,
        price_cents: 5000,
        ..Product::flower()
    };
    // Flower: 2 × 14 g = 28 g is allowed (limit 28.5 g)...
    let (status, body) = try_limit(&app, &customer, address, ounce_half(14_000), 2).await;
    assert_eq!(status, 201, "{body}");
    // ...then 1 g more is over: 28 g already today + 1 g.
    let (status, body) = try_limit(
        &app,
        &customer,
        address,
        Product {
            net_weight_mg: 1_000,
            price_cents: 3000,
            ..Product::flower()
        },
        1,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "PURCHASE_LIMIT_EXCEEDED"),
        "{body}"
    );
    assert_eq!(body["limit"]["id"], "flower");
    assert_eq!(body["limit"]["maxMg"], 28_500);
    assert_eq!(body["alreadyToday"]["mg"], 28_000);
    assert_eq!(body["thisOrder"]["mg"], 1_000);
    // Exactly at the limit: 0.5 g more is fine.
    let (status, body) = try_limit(
        &app,
        &customer,
        address,
        Product {
            net_weight_mg: 500,
            price_cents: 3000,
            ..Product::flower()
        },
        1,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Concentrates by weight: 9 × 1 g > 8 g.
    let (fresh, fresh_address) = app.customer().await;
    let wax = Product {
        product_type: v1::ProductType::Concentrate,
        net_weight_mg: 1_000,
        price_cents: 3000,
        ..Product::flower()
    };
    let (status, body) = try_limit(&app, &fresh, fresh_address, wax, 9).await;
    assert_eq!(
        (status, body["limit"]["id"].as_str()),
        (422, Some("concentrate")),
        "{body}"
    );
    // Edibles count their THC against the concentrate limit: 9 × 1000 mg > 8000 mg.
    let tincture = Product {
        product_type: v1::ProductType::Tincture,
        net_weight_mg: 0,
        thc_mg: 1_000,
        price_cents: 3000,
        ..Product::flower()
    };
    let (status, body) = try_limit(&app, &fresh, fresh_address, tincture.clone(), 9).await;
    assert_eq!(
        (status, body["limit"]["id"].as_str()),
        (422, Some("concentrate")),
        "{body}"
    );
    assert_eq!(body["thisOrder"]["mg"], 9_000);
    let (status, body) = try_limit(&app, &fresh, fresh_address, tincture, 8).await;
    assert_eq!(status, 201, "{body}");

    // A cancelled order no longer counts.
    let (third, third_address) = app.customer().await;
    let (status, order) = try_limit(&app, &third, third_address, ounce_half(14_000), 2).await;
    assert_eq!(status, 201);
    let cancel = format!("/api/orders/{}/cancel", order["id"].as_str().unwrap());
    app.call(Method::POST, &cancel, None, Some(&third.token), 200)
        .await;
    let (status, body) = try_limit(&app, &third, third_address, ounce_half(14_000), 2).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_refused_outside_delivery_hours() {
    // A window that excludes now in Austin: it opened two hours ago and closed an hour ago.
    let local = (Utc::now() - Duration::hours(6)).time(); // Central time, near enough
    let opens = (local - Duration::hours(3)).format("%H:%M").to_string();
    let closes = (local - Duration::hours(2)).format("%H:%M").to_string();
    let app = TestApp::spawn_with(&texas_rules(&opens, &closes), &[]).await;
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    let (status, body) = refused(&app, &customer.token, &order_body(address)).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "OUTSIDE_DELIVERY_HOURS"),
        "{body}"
    );
    assert_eq!(body["opens"], opens);
    assert_eq!(body["timeZone"], "America/Chicago");
}

/// Tracking's arrival estimates become the order's `estimatedDeliveryTime` (the guide's
/// field); an older estimate that arrives late changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_shows_trackings_latest_arrival_estimate() {
    let app = TestApp::spawn().await;
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 3).await;
    let order = app.checkout(&customer.token, address).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let path = format!("/api/orders/{id}");
    let stamp = |seconds: i64| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let estimate = |arrival: i64, computed: i64| v1::DeliveryEtaUpdated {
        order_id: id.clone(),
        customer_id: customer.id.to_string(),
        eta_minutes: 12,
        estimated_arrival_at: stamp(arrival),
        computed_at: stamp(computed),
        source: "haversine".into(),
        ..Default::default()
    };
    // 2026-12-08T12:00:00Z, computed at 11:48.
    app.publish(&estimate(1_796_731_200, 1_796_730_480), None)
        .await;
    let shown = |order: &Value| order["estimatedDeliveryTime"].as_str().map(str::to_owned);
    testkit::wait_for(
        "the first estimate",
        std::time::Duration::from_secs(10),
        || async {
            let order = app
                .call(Method::GET, &path, None, Some(&customer.token), 200)
                .await;
            shown(&order).as_deref() == Some("2026-12-08T12:00:00Z")
        },
    )
    .await;
    // A later estimate replaces it; then an older one, delivered late, does not.
    app.publish(&estimate(1_796_731_500, 1_796_730_600), None)
        .await;
    let late = app
        .publish(&estimate(1_796_730_900, 1_796_730_300), None)
        .await;
    app.wait_for_row(
        "the later estimate",
        format!(
            "SELECT count(*) AS n FROM orders WHERE id = '{id}' AND eta_computed_at = to_timestamp(1796730600)"
        ),
    )
    .await;
    // The late one has been handled too (the inbox records it).
    app.wait_for_row(
        "the late estimate handled",
        format!("SELECT count(*) AS n FROM processed_events WHERE event_id = '{late}'"),
    )
    .await;
    let order = app
        .call(Method::GET, &path, None, Some(&customer.token), 200)
        .await;
    assert_eq!(shown(&order).as_deref(), Some("2026-12-08T12:05:00Z"));
}
