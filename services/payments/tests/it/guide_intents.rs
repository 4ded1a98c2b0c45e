//! `POST /api/payments/create-intent` with the guide's request, `{amount, paymentMethodId}`
//! (no order id): it pays the caller's newest order still waiting for payment, only for what
//! that order owes by card, only with one of the caller's own saved methods.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const INTENT: &str = "/api/payments/create-intent";

async fn submit(app: &TestApp, order: Uuid, customer: Uuid, total: i64, points: i64, method: &str) {
    let submitted = v1::OrderSubmitted {
        order_id: order.to_string(),
        order_number: "FS-GUIDE".into(),
        customer_id: customer.to_string(),
        total_cents: total,
        points_to_redeem: points,
        payment_method_id: method.to_owned(),
        ..Default::default()
    };
    app.publish(&submitted, None).await;
}

/// The answer's status, content type and JSON body.
async fn intent(app: &TestApp, token: &str, body: &Value) -> (u16, String, Value) {
    let res = app
        .client
        .post(format!("{}{INTENT}", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        res.json().await.unwrap_or(Value::Null),
    )
}

/// Asks until the answer is no longer 404 (the order reaches payments by event), then
/// returns it.
async fn once_submitted(app: &TestApp, token: &str, body: &Value) -> (u16, String, Value) {
    testkit::wait_for_value(
        "the order to reach payments",
        Duration::from_secs(15),
        || async {
            let answer = intent(app, token, body).await;
            (answer.0 != 404).then_some(answer)
        },
    )
    .await
}

fn assert_problem(answer: &(u16, String, Value), status: u16, code: &str) {
    let (got, content_type, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(
        (body["status"].as_u64(), body["code"].as_str()),
        (Some(u64::from(status)), Some(code)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_request_pays_the_order_waiting_for_payment() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_visa").await;
    let (_, stranger) = app.tokens.token(Role::Customer);
    let strangers_method = app.save_card(&stranger, "pm_card_mastercard").await;
    app.give_points(customer, 1000).await;

    // Nothing to pay yet.
    let guide = json!({ "amount": 39.99, "paymentMethodId": method });
    let nothing = intent(&app, &token, &guide).await;
    assert_problem(&nothing, 404, "NOT_FOUND");

    // $45.99 less 600 points ($6.00): $39.99 by card.
    let order = Uuid::new_v4();
    submit(&app, order, customer, 4599, 600, &method).await;
    let wrong = once_submitted(
        &app,
        &token,
        &json!({ "amount": 45.99, "paymentMethodId": method }),
    )
    .await;
    assert_problem(&wrong, 422, "BUSINESS_RULE");
    let problem = &wrong.2;
    assert_eq!(problem["amount"], json!(39.99), "{problem}");
    assert!(problem["amount"].is_number(), "{problem}");
    assert_eq!(problem["amountDue"], "39.99");
    assert_eq!(problem["orderId"], order.to_string());

    // Only the caller's own saved methods; a refused method costs the order nothing.
    for other in [strangers_method.clone(), Uuid::new_v4().to_string()] {
        let refused = intent(
            &app,
            &token,
            &json!({ "amount": 39.99, "paymentMethodId": other }),
        )
        .await;
        assert_problem(&refused, 404, "NOT_FOUND");
    }
    let provider_id = intent(
        &app,
        &token,
        &json!({ "amount": 39.99, "paymentMethodId": "pm_someone_elses" }),
    )
    .await;
    assert_problem(&provider_id, 404, "NOT_FOUND");

    // Malformed amounts and ids are 400, naming the field.
    for (amount, field) in [
        (json!(-39.99), "amount"),
        (json!(39.999), "amount"),
        (json!("lots"), "amount"),
        (json!(""), "amount"),
        (json!(true), "amount"),
        (json!({ "value": 39.99 }), "amount"),
    ] {
        let bad = intent(
            &app,
            &token,
            &json!({ "amount": amount, "paymentMethodId": method }),
        )
        .await;
        assert_problem(&bad, 400, "VALIDATION_FAILED");
        assert_eq!(bad.2["errors"][0]["field"], field, "{amount}: {}", bad.2);
    }
    let bad_method = intent(
        &app,
        &token,
        &json!({ "amount": 39.99, "paymentMethodId": "not an id!" }),
    )
    .await;
    assert_problem(&bad_method, 400, "VALIDATION_FAILED");
    assert_eq!(bad_method.2["errors"][0]["field"], "paymentMethodId");

    // The guide's exact request with the right amount.
    let (status, _, created) = intent(&app, &token, &guide).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["orderId"], order.to_string());
    assert_eq!(
        (&created["status"], &created["amount"]),
        (&json!("requires_action"), &json!("39.99"))
    );
    let secret = created["clientSecret"].as_str().unwrap();
    let intent_id = created["paymentIntentId"].as_str().unwrap();
    assert!(intent_id.starts_with("pi_") && secret.starts_with(intent_id));
    assert!(created["paymentId"].is_string());
    assert_eq!(app.balance(&token).await, 400);
    // The same request again is the same intent; today's shape (the order named, the amount
    // as a string) reaches it too.
    let (_, _, again) = intent(&app, &token, &guide).await;
    assert_eq!(again["paymentId"], created["paymentId"]);
    let (_, _, named) = intent(
        &app,
        &token,
        &json!({ "orderId": order, "amount": "39.99" }),
    )
    .await;
    assert_eq!(named["paymentId"], created["paymentId"]);
    assert!(app.tap.named("payment.failed").is_empty());

    // Once paid, nothing waits for payment.
    app.call(
        Method::POST,
        &format!("/sandbox/payment_intents/{intent_id}/action"),
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
    assert_problem(&intent(&app, &token, &guide).await, 404, "NOT_FOUND");

    // A newer order is the one paid; whole dollars are fine; a cancelled one is not paid.
    let newer = Uuid::new_v4();
    submit(&app, newer, customer, 2000, 0, &method).await;
    let (status, _, second) = once_submitted(
        &app,
        &token,
        &json!({ "amount": 20, "paymentMethodId": method }),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (&second["orderId"], &second["amount"]),
        (&json!(newer.to_string()), &json!("20.00"))
    );
    // A wrong amount changes nothing and names the order it was checked against.
    let order_of = async |app: &TestApp| {
        intent(app, &token, &json!({ "amount": 0.01 })).await.2["orderId"].clone()
    };
    let cancelled = Uuid::new_v4();
    submit(&app, cancelled, customer, 1500, 0, &method).await;
    testkit::wait_for("the newest order", Duration::from_secs(15), || async {
        order_of(&app).await == cancelled.to_string()
    })
    .await;
    app.publish(
        &v1::OrderCancelled {
            order_id: cancelled.to_string(),
            ..Default::default()
        },
        None,
    )
    .await;
    testkit::wait_for("the cancellation", Duration::from_secs(15), || async {
        order_of(&app).await == newer.to_string()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_dollars_reach_stripe_as_the_orders_cents() {
    let stripe = crate::stripe_adapter::stripe().await;
    let base = format!("{}/", stripe.uri());
    let app = TestApp::spawn_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", crate::stripe_adapter::KEY),
        ("STRIPE_API_BASE", &base),
    ])
    .await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let method = app.save_card(&token, "pm_card_visa").await;
    // $7.77 waits for 3-D Secure at the stub.
    let order = Uuid::new_v4();
    submit(&app, order, customer.into_inner(), 777, 0, &method).await;
    // The guide sends the provider's id of the saved method (Stripe's `pm_...`).
    let guide = json!({ "amount": 7.77, "paymentMethodId": "pm_stub1" });
    let (status, _, created) = once_submitted(&app, &token, &guide).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (
            &created["paymentIntentId"],
            &created["clientSecret"],
            &created["status"],
            &created["amount"],
            &created["orderId"],
        ),
        (
            &json!("pi_3ds"),
            &json!("pi_3ds_secret_abc"),
            &json!("requires_action"),
            &json!("7.77"),
            &json!(order.to_string()),
        )
    );
    let sent = crate::stripe_adapter::last(&stripe, "/v1/payment_intents").await;
    assert_eq!(sent.headers["idempotency-key"], format!("{order}:1"));
    assert_eq!(
        (
            sent.form["amount"].as_str(),
            sent.form["currency"].as_str(),
            sent.form["customer"].as_str(),
            sent.form["payment_method"].as_str(),
            sent.form.get("confirm"),
        ),
        ("777", "usd", "cus_stub1", "pm_stub1", None)
    );
}
