//! `POST /api/payments/create-intent`: only for the caller's own pending order, only for
//! what it owes, confirmed by the customer, never charged twice.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

async fn submit(app: &TestApp, order: Uuid, customer: Uuid, total: i64, points: i64, method: &str) {
    let submitted = v1::OrderSubmitted {
        order_id: order.to_string(),
        order_number: "FS-INTENT".into(),
        customer_id: customer.to_string(),
        total_cents: total,
        points_to_redeem: points,
        payment_method_id: method.to_owned(),
        ..Default::default()
    };
    app.publish(&submitted, None).await;
}

async fn intent(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/api/payments/create-intent", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_is_for_the_callers_order_and_what_it_owes() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_visa").await;
    app.give_points(customer, 1000).await;
    let order = Uuid::new_v4();
    submit(&app, order, customer, 4599, 600, &method).await;
    let body = json!({ "orderId": order, "amount": 39.99 });
    let created = testkit::wait_for_value(
        "the order to reach payments",
        Duration::from_secs(15),
        || async {
            let (status, body) = intent(&app, &token, &body).await;
            if status != 404 {
                assert_eq!(status, 200, "{body}");
            }
            (status == 200).then_some(body)
        },
    )
    .await;
    assert_eq!(
        (created["status"].clone(), created["amount"].clone()),
        (json!("requires_action"), json!("39.99"))
    );
    let secret = created["clientSecret"].as_str().unwrap();
    let intent_id = created["paymentIntentId"].as_str().unwrap();
    assert!(secret.starts_with(intent_id));
    // Asking again gives the same intent.
    let (_, again) = intent(&app, &token, &json!({ "orderId": order })).await;
    assert_eq!(again["paymentId"], created["paymentId"]);
    assert_eq!(app.balance(&token).await, 400);

    // Someone else's order is not found; a wrong amount is refused with what is owed.
    let (_, stranger) = app.tokens.token(Role::Customer);
    assert_eq!(intent(&app, &stranger, &body).await.0, 404);
    let (status, problem) = intent(
        &app,
        &token,
        &json!({ "orderId": order, "amount": "45.99" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["amountDue"], "39.99");
    assert_eq!(
        intent(&app, &token, &json!({ "orderId": order, "amount": "lots" }))
            .await
            .0,
        400
    );
    // Without an order id (the guide's request) the order is the one waiting for payment.
    let (status, problem) = intent(&app, &token, &json!({ "amount": "1.00" })).await;
    assert_eq!(
        (status, &problem["amount"], &problem["orderId"]),
        (422, &json!(39.99), &json!(order.to_string()))
    );
    assert_eq!(
        intent(&app, &token, &json!({ "orderId": Uuid::new_v4() }))
            .await
            .0,
        404
    );

    // The customer confirms in the app; the webhook ends it; orders' request charges nothing more.
    let path = format!("/sandbox/payment_intents/{intent_id}/action");
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "outcome": "authenticate" })),
        None,
        202,
    )
    .await;
    let paid: v1::PaymentSucceeded = app
        .tap
        .find("payment.succeeded", |e: &v1::PaymentSucceeded| {
            e.order_id == order.to_string()
        })
        .await;
    assert_eq!((paid.amount_cents, paid.points_redeemed), (3999, 600));
    assert_eq!(
        intent(&app, &token, &json!({ "orderId": order })).await.0,
        409
    );
    let request = v1::OrderPaymentRequested {
        order_id: order.to_string(),
        customer_id: customer.to_string(),
        total_cents: 4599,
        points_to_redeem: 600,
        payment_method_id: method.clone(),
        attempt: 1,
        ..Default::default()
    };
    app.publish(&request, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.tap.named("payment.succeeded").len(), 1);

    // A cancelled order takes no intent.
    let cancelled = Uuid::new_v4();
    submit(&app, cancelled, customer, 2000, 0, &method).await;
    app.publish(
        &v1::OrderCancelled {
            order_id: cancelled.to_string(),
            ..Default::default()
        },
        None,
    )
    .await;
    testkit::wait_for("the cancellation", Duration::from_secs(15), || async {
        intent(&app, &token, &json!({ "orderId": cancelled }))
            .await
            .0
            == 404
    })
    .await;
}
