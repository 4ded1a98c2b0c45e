//! The error answers of each route, snapshotted (`snapshots/`), so a change to what a client
//! reads when refused shows in review.

use crate::helpers::{Product, TestApp};
use domain::Role;
use events::v1;
use serde_json::json;
use testkit::assert_problem;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_refusals_read_as_documented() {
    let app = TestApp::spawn().await;
    let (customer, address) = app.customer().await;
    let me = app.http(Some(&customer.token));
    let (_, driver) = app.tokens.token(Role::Driver);

    assert_problem!(
        app.http(None).get("/api/cart").await,
        401,
        "UNAUTHENTICATED",
        "no_token"
    );
    assert_problem!(
        app.http(Some(&driver)).get("/api/cart").await,
        403,
        "FORBIDDEN",
        "wrong_role"
    );
    let zero = me
        .post(
            "/api/cart/add",
            &json!({ "productId": Uuid::new_v4(), "quantity": 0 }),
        )
        .await;
    assert_problem!(zero, 400, "VALIDATION_FAILED", "cart_add_zero");
    let unknown = me
        .post(
            "/api/cart/add",
            &json!({ "productId": Uuid::new_v4(), "quantity": 1 }),
        )
        .await;
    assert_problem!(
        unknown,
        422,
        "PRODUCT_UNAVAILABLE",
        "cart_add_unknown_product"
    );
    let scarce = app
        .product(Product {
            available: 2,
            ..Product::flower()
        })
        .await;
    app.add_to_cart(&customer.token, scarce, 2).await;
    let over = me
        .post(
            "/api/cart/add",
            &json!({ "productId": scarce, "quantity": 1 }),
        )
        .await;
    assert_problem!(over, 422, "BUSINESS_RULE", "cart_add_over_the_cap");
    let missing = me
        .delete(&format!("/api/cart/remove/{}", Uuid::new_v4()))
        .await;
    assert_problem!(missing, 404, "NOT_FOUND", "cart_remove_not_in_cart");
    let not_an_id = me.delete("/api/cart/remove/abc").await;
    assert_problem!(not_an_id, 400, "VALIDATION_FAILED", "cart_remove_not_an_id");

    let bad_address = me
        .post(
            "/api/users/addresses",
            &json!({
                "name": "", "addressLine1": "1 A", "city": "A", "state": "XX", "zipCode": "7870",
                "addressType": "castle",
            }),
        )
        .await;
    assert_problem!(bad_address, 400, "VALIDATION_FAILED", "address_invalid");
    let no_address = me
        .delete(&format!("/api/users/addresses/{}", Uuid::new_v4()))
        .await;
    assert_problem!(no_address, 404, "NOT_FOUND", "address_not_found");

    let status = me.get("/api/orders?status=lost").await;
    assert_problem!(status, 400, "VALIDATION_FAILED", "orders_bad_status");
    let limit = me.get("/api/orders?limit=500").await;
    assert_problem!(limit, 400, "VALIDATION_FAILED", "orders_bad_limit");
    let no_order = me.get(&format!("/api/orders/{}", Uuid::new_v4())).await;
    assert_problem!(no_order, 404, "NOT_FOUND", "order_not_found");
    let cancel = me
        .post(
            &format!("/api/orders/{}/cancel", Uuid::new_v4()),
            &json!({}),
        )
        .await;
    assert_problem!(cancel, 404, "NOT_FOUND", "cancel_not_found");

    let empty = app.http(Some(&customer.token));
    empty.delete(&format!("/api/cart/remove/{scarce}")).await;
    let checkout = empty
        .post(
            "/api/orders",
            &json!({ "deliveryAddressId": address, "paymentMethodId": Uuid::new_v4() }),
        )
        .await;
    assert_problem!(checkout, 422, "CART_EMPTY", "checkout_cart_empty");
    let malformed = empty
        .post("/api/orders", &json!({ "deliveryAddressId": "not-a-uuid" }))
        .await;
    assert_problem!(malformed, 400, "VALIDATION_FAILED", "checkout_malformed");

    let unverified = app
        .user(
            Role::Customer,
            v1::IdVerificationStatus::Pending,
            "1990-01-01",
        )
        .await;
    let unverified = app.http(Some(&app.token(unverified, Role::Customer)));
    let refused = unverified
        .post(
            "/api/orders",
            &json!({ "deliveryAddressId": address, "paymentMethodId": Uuid::new_v4() }),
        )
        .await;
    assert_problem!(
        refused,
        403,
        "ID_VERIFICATION_REQUIRED",
        "checkout_id_not_verified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_driver_and_public_refusals_read_as_documented() {
    let app = TestApp::spawn().await;
    let admin = app.http(Some(&app.admin));
    let (_, agent) = app.tokens.token(Role::Agent);
    let (_, driver) = app.tokens.token(Role::Driver);
    let order = Uuid::new_v4();

    let agents = app.http(Some(&agent)).get("/api/admin/orders").await;
    assert_problem!(agents, 403, "FORBIDDEN", "admin_orders_agent");
    let from = admin.get("/api/admin/orders?from=yesterday").await;
    assert_problem!(from, 400, "VALIDATION_FAILED", "admin_orders_bad_from");
    let no_order = admin.get(&format!("/api/admin/orders/{order}")).await;
    assert_problem!(no_order, 404, "NOT_FOUND", "admin_order_not_found");
    let no_note = admin
        .post(
            &format!("/api/admin/orders/{order}/status"),
            &json!({ "status": "cancelled" }),
        )
        .await;
    assert_problem!(
        no_note,
        400,
        "VALIDATION_FAILED",
        "admin_cancel_without_note"
    );
    let not_a_status = admin
        .post(
            &format!("/api/admin/orders/{order}/status"),
            &json!({ "status": "delivered" }),
        )
        .await;
    assert_problem!(
        not_a_status,
        400,
        "VALIDATION_FAILED",
        "admin_status_not_allowed"
    );
    let receipts = admin.get("/api/admin/track-and-trace?status=lost").await;
    assert_problem!(receipts, 400, "VALIDATION_FAILED", "receipts_bad_status");
    let report = admin
        .get("/api/admin/reports?from=2026-02-01&to=2026-01-01")
        .await;
    assert_problem!(report, 400, "VALIDATION_FAILED", "report_from_after_to");

    let drivers = app.http(Some(&driver));
    let pickup = drivers
        .post(&format!("/api/driver/orders/{order}/pickup"), &json!({}))
        .await;
    assert_problem!(pickup, 404, "NOT_FOUND", "driver_pickup_not_assigned");
    let id = drivers
        .post(
            &format!("/api/driver/orders/{order}/deliver"),
            &json!({ "idDocumentType": "library_card", "dateOfBirth": "1996-03-14" }),
        )
        .await;
    assert_problem!(id, 400, "VALIDATION_FAILED", "driver_deliver_bad_document");

    let public = app.http(None);
    let elsewhere = public
        .post(
            "/api/compliance/calculate-tax",
            &json!({ "subtotal": "10.00", "deliveryAddress": { "state": "NY", "zipCode": "10001" } }),
        )
        .await;
    assert_problem!(elsewhere, 422, "OUTSIDE_DELIVERY_AREA", "tax_outside_area");
    let nowhere = public
        .post("/api/compliance/validate-delivery-area", &json!({}))
        .await;
    assert_problem!(nowhere, 400, "VALIDATION_FAILED", "area_without_a_place");
    let many = json!({ "events": (0..51).map(|_| json!({ "event": "x" })).collect::<Vec<_>>() });
    let analytics = public.post("/api/analytics/events", &many).await;
    assert_problem!(analytics, 400, "VALIDATION_FAILED", "analytics_too_many");
    let bad_token = app
        .http(Some("not-a-token"))
        .post("/api/analytics/events", &json!({ "event": "page_view" }))
        .await;
    assert_problem!(bad_token, 401, "INVALID_TOKEN", "analytics_bad_token");
}
