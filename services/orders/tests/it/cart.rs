use crate::helpers::{Product, TestApp};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cart_prices_lines_and_estimates_the_order_for_the_primary_address() {
    let app = TestApp::spawn().await;
    let (customer, _) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    let cart = app.add_to_cart(&customer.token, flower, 2).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
    assert_eq!(cart["items"][0]["unitPrice"], "40.00");
    assert_eq!(cart["items"][0]["totalPrice"], "80.00");
    assert_eq!(cart["subtotal"], "80.00");
    // Austin, $80.00 of flower: state 6.25 % = 5.00, excise 15 % = 12.00, city 1 % = 0.80,
    // transit 1 % = 0.80 → 18.60 tax; 78701 is within 10 miles → $5.00 delivery.
    assert_eq!(cart["estimate"]["tax"], "18.60");
    assert_eq!(cart["estimate"]["deliveryFee"], "5.00");
    assert_eq!(cart["estimate"]["total"], "103.60");
    assert!(cart["expiresAt"].is_string());

    // Adding again adds up; updating sets; removing drops the line.
    let cart = app.add_to_cart(&customer.token, flower, 1).await;
    assert_eq!(cart["items"][0]["quantity"], 3);
    let body = json!({ "productId": flower, "quantity": 1 });
    let cart = app
        .call(
            Method::PUT,
            "/api/cart/update",
            Some(&body),
            Some(&customer.token),
            200,
        )
        .await;
    assert_eq!(cart["items"][0]["quantity"], 1);
    let path = format!("/api/cart/remove/{flower}");
    let cart = app
        .call(Method::DELETE, &path, None, Some(&customer.token), 200)
        .await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 0);
    assert_eq!(cart["estimate"], serde_json::Value::Null);
    app.call(Method::DELETE, &path, None, Some(&customer.token), 404)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_rules_hold() {
    let app = TestApp::spawn().await;
    let (customer, _) = app.customer().await;
    let token = &customer.token;
    let scarce = app
        .product(Product {
            available: 3,
            ..Product::flower()
        })
        .await;
    let inactive = app
        .product(Product {
            active: false,
            ..Product::flower()
        })
        .await;
    let plenty = app
        .product(Product {
            available: 100,
            ..Product::flower()
        })
        .await;

    let add = |product, quantity: i64| json!({ "productId": product, "quantity": quantity });
    for quantity in [0, 11, -1] {
        let (status, body) = app
            .send(
                Method::POST,
                "/api/cart/add",
                Some(&add(plenty, quantity)),
                Some(token),
            )
            .await;
        assert_eq!(status, 400, "{quantity}: {body}");
    }
    // Never more than the configured most (10) per line...
    app.add_to_cart(token, plenty, 10).await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/cart/add",
            Some(&add(plenty, 1)),
            Some(token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("BUSINESS_RULE")),
        "{body}"
    );
    // ...nor more than is available.
    app.add_to_cart(token, scarce, 2).await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/cart/add",
            Some(&add(scarce, 2)),
            Some(token),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["maxQuantity"], 3);
    assert_eq!(body["inCart"], 2);
    // Only active, known products.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/cart/add",
            Some(&add(inactive, 1)),
            Some(token),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("PRODUCT_UNAVAILABLE"))
    );
    let (status, _) = app
        .send(
            Method::POST,
            "/api/cart/add",
            Some(&add(uuid::Uuid::new_v4(), 1)),
            Some(token),
        )
        .await;
    assert_eq!(status, 422);
    // Nor can an unavailable product be set to a quantity.
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/cart/update",
            Some(&add(inactive, 1)),
            Some(token),
        )
        .await;
    assert_eq!(status, 422);

    // A product that stops being sold stays in the cart, marked unavailable.
    app.publish(
        &Product {
            id: scarce,
            version: 2,
            active: false,
            available: 3,
            ..Product::flower()
        }
        .event(),
        None,
    )
    .await;
    app.wait_for_row(
        "the deactivation",
        format!("SELECT count(*) AS n FROM products WHERE id = '{scarce}' AND NOT active"),
    )
    .await;
    let cart = app
        .call(Method::GET, "/api/cart", None, Some(token), 200)
        .await;
    let line = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["productId"] == scarce.to_string())
        .unwrap()
        .clone();
    assert_eq!(line["available"], false);
    assert_eq!(cart["subtotal"], "400.00", "only the available line counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_expires_seven_days_after_its_last_change() {
    let app = TestApp::spawn().await;
    let (customer, _) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    let mut redis = redis::Client::open(testkit::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{}cart:{}", app.redis_prefix, customer.id);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((7 * 24 * 3600 - 60..=7 * 24 * 3600).contains(&ttl), "{ttl}");
    // The guide's `cart:{userId}` hash holds the line.
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(fields, vec![flower.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_customers_have_carts() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, "/api/cart", None, None, 401).await;
    app.call(Method::GET, "/api/cart", None, Some(&app.admin), 403)
        .await;
}
