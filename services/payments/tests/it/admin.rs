//! `/api/admin/payments*`: filters, partial refunds up to the total and not beyond.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_refund_part_of_a_payment_up_to_what_is_left() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_visa").await;
    let order = Uuid::new_v4();
    let request = v1::OrderPaymentRequested {
        order_id: order.to_string(),
        customer_id: customer.to_string(),
        total_cents: 5000,
        payment_method_id: method,
        attempt: 1,
        ..Default::default()
    };
    app.publish(&request, None).await;
    let paid: v1::PaymentSucceeded = app
        .tap
        .find("payment.succeeded", |e: &v1::PaymentSucceeded| {
            e.order_id == order.to_string()
        })
        .await;
    let refunds = format!("/api/admin/payments/{}/refunds", paid.payment_id);

    let first = app
        .call(
            Method::POST,
            &refunds,
            Some(&json!({ "amount": "20.00", "reason": "Damaged item" })),
            Some(&app.admin),
            201,
        )
        .await;
    assert_eq!(
        (first["refunded"].clone(), first["status"].clone()),
        (json!("20.00"), json!("succeeded"))
    );
    let problem = app
        .call(
            Method::POST,
            &refunds,
            Some(&json!({ "amount": "40.00", "reason": "Too much" })),
            Some(&app.admin),
            422,
        )
        .await;
    assert!(problem["detail"].as_str().unwrap().contains("30.00"));
    let rest = app
        .call(
            Method::POST,
            &refunds,
            Some(&json!({ "amount": "30.00", "reason": "Goodwill" })),
            Some(&app.admin),
            201,
        )
        .await;
    assert_eq!(
        (rest["refunded"].clone(), rest["status"].clone()),
        (json!("50.00"), json!("refunded"))
    );
    app.call(
        Method::POST,
        &refunds,
        Some(&json!({ "amount": "0.01", "reason": "More" })),
        Some(&app.admin),
        422,
    )
    .await;
    app.call(
        Method::POST,
        &refunds,
        Some(&json!({ "amount": "0.00", "reason": "Zero" })),
        Some(&app.admin),
        400,
    )
    .await;
    app.call(
        Method::POST,
        &refunds,
        Some(&json!({ "amount": "5.00" })),
        Some(&app.admin),
        400,
    )
    .await;
    app.call(
        Method::POST,
        &format!("/api/admin/payments/{}/refunds", Uuid::new_v4()),
        Some(&json!({ "amount": "5.00", "reason": "Nope" })),
        Some(&app.admin),
        404,
    )
    .await;
    app.call(
        Method::POST,
        &refunds,
        Some(&json!({ "amount": "5.00", "reason": "Mine" })),
        Some(&token),
        403,
    )
    .await;

    testkit::wait_for(
        "both refunds announced",
        std::time::Duration::from_secs(15),
        || async { app.tap.named("payment.refunded").len() == 2 },
    )
    .await;
    let last: v1::PaymentRefunded = app
        .tap
        .find("payment.refunded", |e: &v1::PaymentRefunded| {
            e.amount_cents == 3000
        })
        .await;
    assert!(last.fully_refunded);
    assert_eq!(last.reason, v1::RefundReason::Admin as i32);
    let audit: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "payment.refunded"
        })
        .await;
    assert_eq!(audit.subject_id, paid.payment_id);

    let list = app
        .call(
            Method::GET,
            "/api/admin/payments?status=refunded",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["payments"][0]["orderId"], order.to_string());
    let list = app
        .call(
            Method::GET,
            &format!("/api/admin/payments?customerId={customer}"),
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(list["total"], 1);
    let list = app
        .call(
            Method::GET,
            "/api/admin/payments?status=failed",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(list["total"], 0);
    app.call(
        Method::GET,
        "/api/admin/payments?status=lost",
        None,
        Some(&app.admin),
        400,
    )
    .await;
    app.call(
        Method::GET,
        "/api/admin/payments?orderId=abc",
        None,
        Some(&app.admin),
        400,
    )
    .await;
    app.call(Method::GET, "/api/admin/payments", None, Some(&token), 403)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_after_delivery_takes_back_the_points_it_earned() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_visa").await;
    let order = Uuid::new_v4();
    let request = v1::OrderPaymentRequested {
        order_id: order.to_string(),
        customer_id: customer.to_string(),
        total_cents: 5000,
        payment_method_id: method,
        attempt: 1,
        ..Default::default()
    };
    app.publish(&request, None).await;
    let paid: v1::PaymentSucceeded = app
        .tap
        .find("payment.succeeded", |e: &v1::PaymentSucceeded| {
            e.order_id == order.to_string()
        })
        .await;
    app.publish(
        &v1::OrderDelivered {
            order_id: order.to_string(),
            customer_id: customer.to_string(),
            ..Default::default()
        },
        None,
    )
    .await;
    testkit::wait_for("the reward", std::time::Duration::from_secs(15), || async {
        app.balance(&token).await == 50
    })
    .await;

    let refunds = format!("/api/admin/payments/{}/refunds", paid.payment_id);
    app.call(
        Method::POST,
        &refunds,
        Some(&json!({ "amount": "20.50", "reason": "Damaged item" })),
        Some(&app.admin),
        201,
    )
    .await;
    assert_eq!(app.balance(&token).await, 30);
    let rewards = app
        .call(Method::GET, "/api/users/rewards", None, Some(&token), 200)
        .await;
    assert_eq!(
        (
            rewards["transactions"][0]["type"].clone(),
            rewards["transactions"][0]["amount"].clone()
        ),
        (json!("reversed"), json!(-20))
    );
}
