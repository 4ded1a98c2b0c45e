//! Orders' side of the saga, with catalog's and payments' answers published by hand (the
//! e2e crate runs the real services).

use crate::helpers::{Product, TestApp};
use chrono::Utc;
use events::{timestamp, v1};
use reqwest::Method;
use serde_json::{Value, json};

async fn placed(app: &TestApp) -> (String, String, Value) {
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    let order = app.checkout(&customer.token, address).await;
    (
        customer.token,
        order["id"].as_str().unwrap().to_owned(),
        order,
    )
}

fn reserved(order: &str) -> v1::StockReserved {
    v1::StockReserved {
        order_id: order.into(),
        lines: vec![],
        reserved_at: Some(timestamp(Utc::now())),
    }
}

fn paid(order: &str, attempt: i32) -> v1::PaymentSucceeded {
    v1::PaymentSucceeded {
        order_id: order.into(),
        attempt,
        amount_cents: 5420,
        total_cents: 5420,
        ..Default::default()
    }
}

fn failed(order: &str, attempt: i32) -> v1::PaymentFailed {
    v1::PaymentFailed {
        order_id: order.into(),
        attempt,
        reason: v1::PaymentFailureReason::CardDeclined as i32,
        message: "Your card was declined.".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_then_paid_confirms_and_repeats_change_nothing() {
    let app = TestApp::spawn().await;
    let (token, order, _) = placed(&app).await;
    let reserved_id = app.publish(&reserved(&order), None).await;
    let request: v1::OrderPaymentRequested = app
        .tap
        .find(
            "order.payment_requested",
            |e: &v1::OrderPaymentRequested| e.order_id == order,
        )
        .await;
    assert_eq!(request.attempt, 1);
    // $40.00 + 9.30 tax (6.25 % + 15 % + 1 % + 1 %) + $5.00 delivery.
    assert_eq!(request.total_cents, 5430);
    let paid_id = app.publish(&paid(&order, 1), None).await;
    let confirmed = app.wait_for_status(&token, &order, "confirmed").await;
    assert_eq!(confirmed["paymentStatus"], "succeeded");
    assert_eq!(confirmed["stockStatus"], "reserved");
    let history = confirmed["statusHistory"].as_array().unwrap().len();

    // The same events again (redelivery), again under new ids (a duplicate publish), and a
    // late failure of the same attempt: nothing moves.
    app.publish(&reserved(&order), Some(reserved_id)).await;
    app.publish(&paid(&order, 1), Some(paid_id)).await;
    app.publish(&reserved(&order), None).await;
    app.publish(&paid(&order, 1), None).await;
    app.publish(&failed(&order, 1), None).await;
    // A refund published after them is applied after them (one queue, in order): once it
    // shows, the repeats were handled, and only the refund changed the order.
    app.publish(
        &v1::PaymentRefunded {
            order_id: order.clone(),
            fully_refunded: true,
            ..Default::default()
        },
        None,
    )
    .await;
    let path = format!("/api/orders/{order}");
    let after =
        testkit::wait_for_value("the refund", std::time::Duration::from_secs(10), || async {
            let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
            (body["paymentStatus"] == "refunded").then_some(body)
        })
        .await;
    assert_eq!(after["status"], "confirmed");
    assert_eq!(
        after["statusHistory"].as_array().unwrap().len(),
        history + 1
    );
    assert_eq!(
        app.tap
            .named("order.payment_requested")
            .iter()
            .filter(|e| e.decode::<v1::OrderPaymentRequested>().order_id == order)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_stock_cancels_and_a_declined_payment_fails_then_closes() {
    let app = TestApp::spawn_with(
        &crate::helpers::texas_rules("00:00", "00:00"),
        &[("ORDERS_PAYMENT_FAILED_CLOSE_SECS", "1")],
    )
    .await;
    let (token, order, _) = placed(&app).await;
    app.publish(
        &v1::StockRejected {
            order_id: order.clone(),
            short_lines: vec![v1::StockShortage {
                product_name: "Blue Dream 3.5g".into(),
                requested_quantity: 1,
                available_quantity: 0,
                ..Default::default()
            }],
            rejected_at: None,
        },
        None,
    )
    .await;
    let cancelled = app.wait_for_status(&token, &order, "cancelled").await;
    assert_eq!(cancelled["statusReason"], "out_of_stock");
    assert_eq!(cancelled["stockStatus"], "rejected");
    let event: v1::OrderCancelled = app
        .tap
        .find("order.cancelled", |e: &v1::OrderCancelled| {
            e.order_id == order
        })
        .await;
    assert_eq!(event.reason, v1::CancellationReason::OutOfStock as i32);
    // A late reservation does not bring it back.
    app.publish(&reserved(&order), None).await;

    let (token, order, _) = placed(&app).await;
    app.publish(&reserved(&order), None).await;
    app.tap
        .find(
            "order.payment_requested",
            |e: &v1::OrderPaymentRequested| e.order_id == order,
        )
        .await;
    app.publish(&failed(&order, 1), None).await;
    let failed_order = app.wait_for_status(&token, &order, "payment_failed").await;
    assert_eq!(failed_order["statusReason"], "card_declined");
    // Closed after the configured second: the reservation is released through the event.
    let closed = app.wait_for_status(&token, &order, "cancelled").await;
    assert_eq!(closed["statusReason"], "payment_failed");
    let event: v1::OrderCancelled = app
        .tap
        .find("order.cancelled", |e: &v1::OrderCancelled| {
            e.order_id == order
        })
        .await;
    assert_eq!(event.stock_status, v1::StockStatus::Reserved as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_left_pending_is_cancelled_after_the_grace_period() {
    let app = TestApp::spawn_with(
        &crate::helpers::texas_rules("00:00", "00:00"),
        &[("ORDERS_PENDING_TIMEOUT_SECS", "1")],
    )
    .await;
    let (token, order, _) = placed(&app).await;
    let cancelled = app.wait_for_status(&token, &order, "cancelled").await;
    assert_eq!(cancelled["statusReason"], "pending_timeout");
    let event: v1::OrderCancelled = app
        .tap
        .find("order.cancelled", |e: &v1::OrderCancelled| {
            e.order_id == order
        })
        .await;
    assert_eq!(event.reason, v1::CancellationReason::PendingTimeout as i32);
    assert!(event.actor_id.is_empty(), "the system cancelled it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_awaiting_the_customer_keeps_the_order_pending() {
    let app = TestApp::spawn().await;
    let (token, order, _) = placed(&app).await;
    app.publish(&reserved(&order), None).await;
    app.tap
        .find(
            "order.payment_requested",
            |e: &v1::OrderPaymentRequested| e.order_id == order,
        )
        .await;
    app.publish(
        &v1::PaymentActionRequired {
            order_id: order.clone(),
            attempt: 1,
            ..Default::default()
        },
        None,
    )
    .await;
    let path = format!("/api/orders/{order}");
    let waiting = testkit::wait_for_value(
        "action_required",
        std::time::Duration::from_secs(10),
        || async {
            let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
            (body["paymentStatus"] == "action_required").then_some(body)
        },
    )
    .await;
    // Waiting for the customer is not a decision: the order is still pending, its stock still
    // reserved, and nothing told the customer it was confirmed or cancelled.
    assert_eq!(waiting["status"], "pending", "{waiting}");
    assert_eq!(waiting["stockStatus"], "reserved");
    let last = waiting["statusHistory"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["status"], &last["paymentStatus"]),
        (&json!("pending"), &json!("action_required"))
    );
    let changed: v1::OrderStatusChanged = app
        .tap
        .find("order.status_changed", |e: &v1::OrderStatusChanged| {
            e.order_id == order && e.payment_status == v1::PaymentStatus::ActionRequired as i32
        })
        .await;
    assert_eq!(changed.status, v1::OrderStatus::Pending as i32);
    assert_eq!(changed.previous_status, v1::OrderStatus::Pending as i32);
    // Then the customer confirms and the webhook succeeds it.
    app.publish(&paid(&order, 1), None).await;
    app.wait_for_status(&token, &order, "confirmed").await;
}

/// The guide's client pays with `create-intent` right after placing the order, so payments'
/// answer for attempt 1 can come before the stock's: the order waits for the stock, is then
/// confirmed without asking payments again, and a late repeat changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_that_answers_before_the_stock_confirms_once_the_stock_is_reserved() {
    let app = TestApp::spawn().await;
    let (token, order, _) = placed(&app).await;
    let path = format!("/api/orders/{order}");
    app.publish(&paid(&order, 1), None).await;
    let early = testkit::wait_for_value(
        "the early payment",
        std::time::Duration::from_secs(10),
        || async {
            let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
            (body["paymentStatus"] == "succeeded").then_some(body)
        },
    )
    .await;
    assert_eq!(early["status"], "pending", "not confirmed before the stock");
    assert_eq!(early["stockStatus"], "pending");
    app.publish(&reserved(&order), None).await;
    let confirmed = app.wait_for_status(&token, &order, "confirmed").await;
    assert_eq!(confirmed["stockStatus"], "reserved");
    assert_eq!(confirmed["paymentStatus"], "succeeded");
    // A late payment answer for attempt 2 (none was asked for) changes nothing; the refund
    // after it shows the queue was read past it.
    app.publish(&failed(&order, 2), None).await;
    app.publish(
        &v1::PaymentRefunded {
            order_id: order.clone(),
            fully_refunded: true,
            ..Default::default()
        },
        None,
    )
    .await;
    let after =
        testkit::wait_for_value("the refund", std::time::Duration::from_secs(10), || async {
            let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
            (body["paymentStatus"] == "refunded").then_some(body)
        })
        .await;
    assert_eq!(after["status"], "confirmed");
    // Payments was never asked for a payment it had already taken.
    assert_eq!(
        app.tap
            .named("order.payment_requested")
            .iter()
            .filter(|e| e.decode::<v1::OrderPaymentRequested>().order_id == order)
            .count(),
        0
    );
}

/// The customer must confirm the early attempt (3-D Secure): the stock's answer then does not
/// ask payments again, and the confirmation's answer (attempt 1) confirms the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_attempt_awaiting_the_customer_is_the_one_that_confirms() {
    let app = TestApp::spawn().await;
    let (token, order, _) = placed(&app).await;
    let path = format!("/api/orders/{order}");
    app.publish(
        &v1::PaymentActionRequired {
            order_id: order.clone(),
            attempt: 1,
            ..Default::default()
        },
        None,
    )
    .await;
    testkit::wait_for_value(
        "the early attempt",
        std::time::Duration::from_secs(10),
        || async {
            let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
            (body["paymentStatus"] == "action_required").then_some(body)
        },
    )
    .await;
    app.publish(&reserved(&order), None).await;
    testkit::wait_for_value("the stock", std::time::Duration::from_secs(10), || async {
        let body = app.send(Method::GET, &path, None, Some(&token)).await.1;
        (body["stockStatus"] == "reserved").then_some(body)
    })
    .await;
    app.publish(&paid(&order, 1), None).await;
    let confirmed = app.wait_for_status(&token, &order, "confirmed").await;
    assert_eq!(confirmed["paymentStatus"], "succeeded");
    assert_eq!(
        app.tap
            .named("order.payment_requested")
            .iter()
            .filter(|e| e.decode::<v1::OrderPaymentRequested>().order_id == order)
            .count(),
        0
    );
}
