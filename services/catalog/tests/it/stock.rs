//! The saga's stock step: all or nothing, never below zero under concurrency, once per
//! order; released on cancellation, committed on delivery.

use crate::helpers::{TestApp, order_lines, order_submitted};
use events::v1;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

async fn available(app: &TestApp, product: Uuid) -> i64 {
    let page = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{product}"),
            &json!(null),
            200,
        )
        .await;
    page["product"]["availableQuantity"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_compete_for_ten_units_and_exactly_ten_are_reserved() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "stockQuantity": 10 })).await;
    // Two more replicas consume the same queue, so reservations race in the database.
    for _ in 0..2 {
        let replica = app.build(&[]).await;
        tokio::spawn(replica.run_until_stopped());
    }
    let orders: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
    let sends = orders.iter().map(|order| {
        let event = order_submitted(*order, Uuid::new_v4(), &[(product, 1)]);
        let app = &app;
        async move { app.publish(&event, None).await }
    });
    futures_util::future::join_all(sends).await;

    testkit::wait_for(
        "an answer for every order",
        Duration::from_secs(60),
        || async {
            app.tap.named("stock.reserved").len() + app.tap.named("stock.rejected").len() >= 50
        },
    )
    .await;
    let reserved = app.tap.named("stock.reserved");
    let rejected = app.tap.named("stock.rejected");
    assert_eq!((reserved.len(), rejected.len()), (10, 40));
    let shortage = rejected[0].decode::<v1::StockRejected>();
    assert_eq!(
        shortage.short_lines[0].reason,
        v1::StockShortageReason::InsufficientStock as i32
    );
    assert_eq!(shortage.short_lines[0].requested_quantity, 1);
    let mut answered: Vec<String> = reserved
        .iter()
        .map(|e| e.decode::<v1::StockReserved>().order_id)
        .chain(
            rejected
                .iter()
                .map(|e| e.decode::<v1::StockRejected>().order_id),
        )
        .collect();
    answered.sort();
    answered.dedup();
    assert_eq!(answered.len(), 50);
    assert_eq!(available(&app, product).await, 0);
    let page = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{product}"),
            &json!(null),
            200,
        )
        .await;
    assert_eq!(page["product"]["inStock"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_twice_reserves_once() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "stockQuantity": 10 })).await;
    let order = Uuid::new_v4();
    let event = order_submitted(order, Uuid::new_v4(), &[(product, 3)]);
    let id = app.publish(&event, None).await;
    app.publish(&event, Some(id)).await;
    // The same order under a new event id (a producer that published again) is answered
    // already too.
    app.publish(&event, None).await;
    app.tap.first("stock.reserved").await;
    // A later order proves the three copies were consumed before it.
    let marker = Uuid::new_v4();
    app.publish(
        &order_submitted(marker, Uuid::new_v4(), &[(product, 1)]),
        None,
    )
    .await;
    app.tap
        .find("stock.reserved", |e: &v1::StockReserved| {
            e.order_id == marker.to_string()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let for_order = app
        .tap
        .named("stock.reserved")
        .iter()
        .filter(|e| e.decode::<v1::StockReserved>().order_id == order.to_string())
        .count();
    assert_eq!(for_order, 1);
    assert_eq!(available(&app, product).await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_short_line_reserves_nothing() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let plenty = app
        .product(flower, json!({ "name": "Plenty", "stockQuantity": 10 }))
        .await;
    let scarce = app
        .product(flower, json!({ "name": "Scarce", "stockQuantity": 1 }))
        .await;
    let order = Uuid::new_v4();
    // Two lines of one product count together.
    let event = order_submitted(
        order,
        Uuid::new_v4(),
        &[(plenty, 2), (scarce, 1), (scarce, 1)],
    );
    app.publish(&event, None).await;
    let rejected = app
        .tap
        .first("stock.rejected")
        .await
        .decode::<v1::StockRejected>();
    assert_eq!(rejected.order_id, order.to_string());
    assert_eq!(rejected.short_lines.len(), 1);
    let line = &rejected.short_lines[0];
    assert_eq!(
        (
            line.product_name.as_str(),
            line.requested_quantity,
            line.available_quantity
        ),
        ("Scarce", 2, 1)
    );
    assert_eq!(available(&app, plenty).await, 10);
    assert_eq!(available(&app, scarce).await, 1);

    let ghost = Uuid::new_v4();
    app.publish(
        &order_submitted(Uuid::new_v4(), Uuid::new_v4(), &[(ghost, 1)]),
        None,
    )
    .await;
    let rejected: v1::StockRejected = app
        .tap
        .find("stock.rejected", |e: &v1::StockRejected| {
            e.short_lines[0].product_id == ghost.to_string()
        })
        .await;
    assert_eq!(
        rejected.short_lines[0].reason,
        v1::StockShortageReason::ProductNotFound as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_releases_and_delivery_takes_stock_out() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "stockQuantity": 10 })).await;
    let (cancelled, delivered) = (Uuid::new_v4(), Uuid::new_v4());
    let customer = Uuid::new_v4();
    app.publish(&order_submitted(cancelled, customer, &[(product, 3)]), None)
        .await;
    app.publish(&order_submitted(delivered, customer, &[(product, 2)]), None)
        .await;
    app.tap.nth("stock.reserved", 2).await;
    assert_eq!(available(&app, product).await, 5);
    // Reserved stock keeps the product from being deleted.
    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{product}?permanent=true"),
        &json!(null),
        409,
    )
    .await;
    // Nor can a count drop below it.
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{product}/stock"),
        &json!({ "quantity": 4, "reason": "count" }),
        409,
    )
    .await;

    let cancel = v1::OrderCancelled {
        order_id: cancelled.to_string(),
        customer_id: customer.to_string(),
        ..Default::default()
    };
    let id = app.publish(&cancel, None).await;
    app.publish(&cancel, Some(id)).await;
    testkit::wait_for("the release", Duration::from_secs(15), || async {
        available(&app, product).await == 8
    })
    .await;

    let delivery = v1::OrderDelivered {
        order_id: delivered.to_string(),
        customer_id: customer.to_string(),
        lines: order_lines(&[(product, 2)]),
        ..Default::default()
    };
    app.publish(&delivery, None).await;
    testkit::wait_for("the sale", Duration::from_secs(15), || async {
        let history = app
            .admin(
                Method::GET,
                &format!("/api/admin/products/{product}/stock/history"),
                &json!(null),
                200,
            )
            .await;
        history["entries"][0]["kind"] == "sold"
    })
    .await;
    let page = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{product}"),
            &json!(null),
            200,
        )
        .await;
    assert_eq!(page["product"]["availableQuantity"], 8);
    let history = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{product}/stock/history"),
            &json!(null),
            200,
        )
        .await;
    assert_eq!(
        (
            history["entries"][0]["change"].clone(),
            history["entries"][0]["quantityAfter"].clone()
        ),
        (json!(-2), json!(8))
    );
    assert_eq!(history["entries"][0]["orderId"], delivered.to_string());
    // A cancellation after delivery changes nothing.
    app.publish(
        &v1::OrderCancelled {
            order_id: delivered.to_string(),
            ..Default::default()
        },
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(available(&app, product).await, 8);
}
