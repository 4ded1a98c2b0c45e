//! The payment step of the saga: every sandbox card outcome, customer action, idempotency,
//! points, refunds on cancellation and points earned on delivery.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

fn request(
    order: Uuid,
    customer: Uuid,
    total: i64,
    points: i64,
    method: &str,
) -> v1::OrderPaymentRequested {
    v1::OrderPaymentRequested {
        order_id: order.to_string(),
        order_number: "FS-TEST".into(),
        customer_id: customer.to_string(),
        total_cents: total,
        points_to_redeem: points,
        payment_method_id: method.to_owned(),
        attempt: 1,
        requested_at: None,
    }
}

async fn succeeded(app: &TestApp, order: Uuid) -> v1::PaymentSucceeded {
    app.tap
        .find("payment.succeeded", |e: &v1::PaymentSucceeded| {
            e.order_id == order.to_string()
        })
        .await
}

async fn failed(app: &TestApp, order: Uuid) -> v1::PaymentFailed {
    app.tap
        .find("payment.failed", |e: &v1::PaymentFailed| {
            e.order_id == order.to_string()
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_test_card_ends_as_stripe_says() {
    let app = TestApp::spawn().await;
    for (card, brand, last4) in [
        ("pm_card_visa", "visa", "4242"),
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_amex", "amex", "8431"),
    ] {
        let (customer, token) = app.tokens.token(Role::Customer);
        let method = app.save_card(&token, card).await;
        let order = Uuid::new_v4();
        app.publish(
            &request(order, customer.into_inner(), 4599, 0, &method),
            None,
        )
        .await;
        let paid = succeeded(&app, order).await;
        assert_eq!(
            (paid.amount_cents, paid.total_cents, paid.points_redeemed),
            (4599, 4599, 0)
        );
        assert_eq!(
            (paid.card_brand.as_str(), paid.card_last4.as_str()),
            (brand, last4)
        );
        assert_eq!(paid.provider, "sandbox");
        assert!(paid.provider_payment_id.starts_with("pi_"));
    }
    for (card, decline) in [
        ("pm_card_chargeDeclined", "generic_decline"),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
        ),
    ] {
        let (customer, token) = app.tokens.token(Role::Customer);
        let method = app.save_card(&token, card).await;
        let order = Uuid::new_v4();
        app.publish(
            &request(order, customer.into_inner(), 2000, 0, &method),
            None,
        )
        .await;
        let refused = failed(&app, order).await;
        assert_eq!(
            refused.reason,
            v1::PaymentFailureReason::CardDeclined as i32
        );
        assert_eq!(refused.decline_code, decline);
        assert!(
            refused.message.starts_with("Your card"),
            "{}",
            refused.message
        );
    }
    // No saved method at all.
    let (customer, _) = app.tokens.token(Role::Customer);
    let order = Uuid::new_v4();
    app.publish(&request(order, customer.into_inner(), 2000, 0, ""), None)
        .await;
    let refused = failed(&app, order).await;
    assert_eq!(
        refused.reason,
        v1::PaymentFailureReason::PaymentMethodUnavailable as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_waits_for_the_customer() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app
        .save_card(&token, "pm_card_authenticationRequired")
        .await;
    app.give_points(customer, 1000).await;

    let confirmed = Uuid::new_v4();
    app.publish(&request(confirmed, customer, 3000, 500, &method), None)
        .await;
    let action: v1::PaymentActionRequired = app
        .tap
        .find(
            "payment.action_required",
            |e: &v1::PaymentActionRequired| e.order_id == confirmed.to_string(),
        )
        .await;
    assert!(
        action
            .client_secret
            .starts_with(&action.provider_payment_id)
    );
    assert_eq!(action.amount_cents, 2500);
    let path = format!(
        "/sandbox/payment_intents/{}/action",
        action.provider_payment_id
    );
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "outcome": "authenticate" })),
        None,
        202,
    )
    .await;
    let paid = succeeded(&app, confirmed).await;
    assert_eq!((paid.amount_cents, paid.points_redeemed), (2500, 500));
    // Once settled it cannot be confirmed again.
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "outcome": "fail" })),
        None,
        422,
    )
    .await;

    let abandoned = Uuid::new_v4();
    app.publish(&request(abandoned, customer, 3000, 200, &method), None)
        .await;
    let action: v1::PaymentActionRequired = app
        .tap
        .find(
            "payment.action_required",
            |e: &v1::PaymentActionRequired| e.order_id == abandoned.to_string(),
        )
        .await;
    let path = format!(
        "/sandbox/payment_intents/{}/action",
        action.provider_payment_id
    );
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "outcome": "fail" })),
        None,
        202,
    )
    .await;
    let refused = failed(&app, abandoned).await;
    assert_eq!(
        refused.reason,
        v1::PaymentFailureReason::AuthenticationFailed as i32
    );
    assert_eq!(refused.points_restored, 200);
    // 1000 − 500 redeemed; the 200 of the failed payment came back.
    assert_eq!(app.balance(&token).await, 500);
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "outcome": "maybe" })),
        None,
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_request_never_charges_twice() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let method = app.save_card(&token, "pm_card_visa").await;
    let order = Uuid::new_v4();
    let event = request(order, customer.into_inner(), 1999, 0, &method);
    let id = app.publish(&event, None).await;
    app.publish(&event, Some(id)).await;
    // The same request under a new event id (orders published it again): one payment too.
    app.publish(&event, None).await;
    succeeded(&app, order).await;
    let marker = Uuid::new_v4();
    app.publish(
        &request(marker, customer.into_inner(), 500, 0, &method),
        None,
    )
    .await;
    succeeded(&app, marker).await;
    let count = app
        .tap
        .named("payment.succeeded")
        .iter()
        .filter(|e| e.decode::<v1::PaymentSucceeded>().order_id == order.to_string())
        .count();
    assert_eq!(count, 1);
    let mut conn = app.db.conn().await;
    let intents: i64 = diesel_async::RunQueryDsl::get_result(
        diesel::QueryDsl::count(payments::schema::sandbox_payment_intents::table),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(intents, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_only_card_only_and_mixed_payments() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_visa").await;
    app.give_points(customer, 2000).await;

    let points_only = Uuid::new_v4();
    app.publish(&request(points_only, customer, 1500, 1500, ""), None)
        .await;
    let paid = succeeded(&app, points_only).await;
    assert_eq!((paid.amount_cents, paid.points_redeemed), (0, 1500));
    assert_eq!(
        paid.payment_method_type,
        v1::PaymentMethodType::FsCoin as i32
    );

    let mixed = Uuid::new_v4();
    app.publish(&request(mixed, customer, 3000, 500, &method), None)
        .await;
    let paid = succeeded(&app, mixed).await;
    assert_eq!((paid.amount_cents, paid.points_redeemed), (2500, 500));
    assert_eq!(app.balance(&token).await, 0);

    let too_many = Uuid::new_v4();
    app.publish(&request(too_many, customer, 1000, 100, &method), None)
        .await;
    let refused = failed(&app, too_many).await;
    assert_eq!(
        refused.reason,
        v1::PaymentFailureReason::InsufficientPoints as i32
    );

    let card_only = Uuid::new_v4();
    app.publish(&request(card_only, customer, 2599, 0, &method), None)
        .await;
    assert_eq!(succeeded(&app, card_only).await.points_redeemed, 0);

    // Delivered: one point per whole dollar paid by card.
    app.publish(
        &v1::OrderDelivered {
            order_id: card_only.to_string(),
            customer_id: customer.to_string(),
            ..Default::default()
        },
        None,
    )
    .await;
    let earned: v1::RewardsChanged = app
        .tap
        .find("rewards.changed", |e: &v1::RewardsChanged| {
            e.kind == v1::RewardsChangeKind::Earned as i32
        })
        .await;
    assert_eq!((earned.points_delta, earned.balance_points), (25, 25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_that_together_exceed_the_balance_pass_once() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    app.give_points(customer, 1000).await;
    let orders: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let sends = orders.iter().map(|order| {
        let event = request(*order, customer, 600, 600, "");
        let app = &app;
        async move { app.publish(&event, None).await }
    });
    futures_util::future::join_all(sends).await;
    testkit::wait_for(
        "every answer",
        std::time::Duration::from_secs(20),
        || async {
            app.tap.named("payment.succeeded").len() + app.tap.named("payment.failed").len() >= 5
        },
    )
    .await;
    assert_eq!(app.tap.named("payment.succeeded").len(), 1);
    assert_eq!(app.tap.named("payment.failed").len(), 4);
    assert_eq!(app.balance(&token).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_is_refunded_with_its_points() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    let method = app.save_card(&token, "pm_card_mastercard").await;
    app.give_points(customer, 800).await;
    let order = Uuid::new_v4();
    app.publish(&request(order, customer, 4000, 800, &method), None)
        .await;
    succeeded(&app, order).await;
    assert_eq!(app.balance(&token).await, 0);

    let cancel = v1::OrderCancelled {
        order_id: order.to_string(),
        customer_id: customer.to_string(),
        ..Default::default()
    };
    let id = app.publish(&cancel, None).await;
    app.publish(&cancel, Some(id)).await;
    let refunded: v1::PaymentRefunded = app
        .tap
        .find("payment.refunded", |e: &v1::PaymentRefunded| {
            e.order_id == order.to_string()
        })
        .await;
    assert_eq!(
        (
            refunded.amount_cents,
            refunded.points_restored,
            refunded.fully_refunded
        ),
        (3200, 800, true)
    );
    assert_eq!(refunded.reason, v1::RefundReason::OrderCancelled as i32);
    assert!(refunded.provider_refund_id.starts_with("re_"));
    assert_eq!(app.balance(&token).await, 800);
    let audit: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "payment.refunded"
        })
        .await;
    assert!(audit.details_json.contains("order_cancelled"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.tap.named("payment.refunded").len(), 1);
    // The provider announced the refund to the webhook (stored once).
    testkit::wait_for(
        "the charge.refunded webhook",
        std::time::Duration::from_secs(10),
        || async {
            let mut conn = app.db.conn().await;
            use diesel::{ExpressionMethods, QueryDsl};
            let seen: i64 = diesel_async::RunQueryDsl::get_result(
                payments::schema::provider_events::table
                    .filter(payments::schema::provider_events::event_type.eq("charge.refunded"))
                    .count(),
                &mut conn,
            )
            .await
            .unwrap();
            seen == 1
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_attempt_after_a_decline_redeems_the_points_again() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.tokens.token(Role::Customer);
    let customer = customer.into_inner();
    app.give_points(customer, 1000).await;
    let declining = app.save_card(&token, "pm_card_chargeDeclined").await;
    let order = Uuid::new_v4();
    app.publish(&request(order, customer, 3000, 300, &declining), None)
        .await;
    assert_eq!(failed(&app, order).await.points_restored, 300);
    assert_eq!(app.balance(&token).await, 1000);

    let visa = app.save_card(&token, "pm_card_visa").await;
    let mut retry = request(order, customer, 3000, 300, &visa);
    retry.attempt = 2;
    app.publish(&retry, None).await;
    let paid = succeeded(&app, order).await;
    assert_eq!(
        (paid.attempt, paid.amount_cents, paid.points_redeemed),
        (2, 2700, 300)
    );
    assert_eq!(app.balance(&token).await, 700);
}
