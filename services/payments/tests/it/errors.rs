//! The error answers of each route, snapshotted (`snapshots/`), so a change to what a client
//! reads when refused shows in review.

use crate::helpers::TestApp;
use domain::Role;
use serde_json::json;
use testkit::assert_problem;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_read_as_documented() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tokens.token(Role::Customer);
    let (_, driver) = app.tokens.token(Role::Driver);
    let customer = app.http(Some(&token));
    let methods = "/api/payments/methods";

    assert_problem!(
        app.http(None).get(methods).await,
        401,
        "UNAUTHENTICATED",
        "no_token"
    );
    assert_problem!(
        app.http(Some(&driver)).get(methods).await,
        403,
        "FORBIDDEN",
        "wrong_role"
    );
    let bad = customer.post(methods, &json!({ "type": "bitcoin" })).await;
    assert_problem!(bad, 400, "VALIDATION_FAILED", "add_method_invalid");
    let unknown = customer
        .post(
            methods,
            &json!({ "type": "card", "stripePaymentMethodId": "pm_card_unknown" }),
        )
        .await;
    assert_problem!(
        unknown,
        422,
        "BUSINESS_RULE",
        "add_method_unknown_to_the_provider"
    );
    let missing = customer
        .delete(&format!("{methods}/{}", Uuid::new_v4()))
        .await;
    assert_problem!(missing, 404, "NOT_FOUND", "remove_method_not_found");
    let not_an_id = customer.delete(&format!("{methods}/abc")).await;
    assert_problem!(
        not_an_id,
        400,
        "VALIDATION_FAILED",
        "remove_method_not_an_id"
    );
    let limit = customer.get("/api/users/rewards?limit=abc").await;
    assert_problem!(limit, 400, "VALIDATION_FAILED", "rewards_bad_limit");
    let intent = customer
        .post(
            "/api/payments/create-intent",
            &json!({ "orderId": Uuid::new_v4() }),
        )
        .await;
    assert_problem!(intent, 404, "NOT_FOUND", "create_intent_not_found");

    let admin = app.http(Some(&app.admin));
    let status = admin.get("/api/admin/payments?status=lost").await;
    assert_problem!(status, 400, "VALIDATION_FAILED", "list_payments_bad_status");
    let refund = admin
        .post(
            &format!("/api/admin/payments/{}/refunds", Uuid::new_v4()),
            &json!({ "amount": "5.00", "reason": "Nope" }),
        )
        .await;
    assert_problem!(refund, 404, "NOT_FOUND", "refund_not_found");
    let overdraw = admin
        .post(
            &format!("/api/admin/rewards/{}/adjustments", Uuid::new_v4()),
            &json!({ "points": -5, "reason": "Too much" }),
        )
        .await;
    assert_problem!(overdraw, 422, "BUSINESS_RULE", "adjustment_below_zero");
    let sandbox = app
        .http(None)
        .post(
            "/sandbox/payment_intents/pi_nope/action",
            &json!({ "outcome": "maybe" }),
        )
        .await;
    assert_problem!(sandbox, 400, "VALIDATION_FAILED", "sandbox_action_invalid");
}
