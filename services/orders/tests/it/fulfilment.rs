//! Staff and drivers move a confirmed order to its end; everyone sees only what is theirs.

use crate::helpers::{Product, TestApp};
use chrono::Utc;
use domain::Role;
use events::{timestamp, v1};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// A confirmed order: (customer token, order id).
async fn confirmed(app: &TestApp) -> (String, String) {
    let (customer, address) = app.customer().await;
    let flower = app.product(Product::flower()).await;
    app.add_to_cart(&customer.token, flower, 1).await;
    let order = app.checkout(&customer.token, address).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.publish(
        &v1::StockReserved {
            order_id: id.clone(),
            lines: vec![],
            reserved_at: Some(timestamp(Utc::now())),
        },
        None,
    )
    .await;
    app.tap
        .find(
            "order.payment_requested",
            |e: &v1::OrderPaymentRequested| e.order_id == id,
        )
        .await;
    app.publish(
        &v1::PaymentSucceeded {
            order_id: id.clone(),
            attempt: 1,
            ..Default::default()
        },
        None,
    )
    .await;
    app.wait_for_status(&customer.token, &id, "confirmed").await;
    (customer.token, id)
}

async fn driver(app: &TestApp) -> (Uuid, String) {
    let id = app
        .user(
            Role::Driver,
            v1::IdVerificationStatus::NotSubmitted,
            "1985-06-01",
        )
        .await;
    (id, app.token(id, Role::Driver))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_prepare_and_assign_the_driver_delivers_after_the_id_check() {
    let app = TestApp::spawn().await;
    let (customer, order) = confirmed(&app).await;
    let (_, other_driver) = driver(&app).await;
    let (driver_id, driver) = driver(&app).await;
    let base = format!("/api/admin/orders/{order}");

    // A driver cannot pick up before preparing and assignment.
    app.call(
        Method::POST,
        &format!("/api/driver/orders/{order}/pickup"),
        None,
        Some(&driver),
        404,
    )
    .await;
    let prepared = app
        .call(
            Method::POST,
            &format!("{base}/status"),
            Some(&json!({ "status": "preparing" })),
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(prepared["status"], "preparing");
    // Not a driver → 422; the driver → assigned.
    let not_a_driver = Uuid::new_v4();
    let (status, _) = app
        .send(
            Method::POST,
            &format!("{base}/assign-driver"),
            Some(&json!({ "driverId": not_a_driver })),
            Some(&app.admin),
        )
        .await;
    assert_eq!(status, 422);
    app.call(
        Method::POST,
        &format!("{base}/assign-driver"),
        Some(&json!({ "driverId": driver_id })),
        Some(&app.admin),
        200,
    )
    .await;
    let assigned: v1::OrderDriverAssigned = app
        .tap
        .find("order.driver_assigned", |e: &v1::OrderDriverAssigned| {
            e.order_id == order
        })
        .await;
    assert_eq!(assigned.driver_id, driver_id.to_string());
    assert_eq!(assigned.destination.unwrap().zip, "78701");

    // Drivers see only their own orders.
    let mine = app
        .call(Method::GET, "/api/driver/orders", None, Some(&driver), 200)
        .await;
    assert_eq!(mine["total"], 1);
    let theirs = app
        .call(
            Method::GET,
            "/api/driver/orders",
            None,
            Some(&other_driver),
            200,
        )
        .await;
    assert_eq!(theirs["total"], 0);
    app.call(
        Method::GET,
        &format!("/api/driver/orders/{order}"),
        None,
        Some(&other_driver),
        404,
    )
    .await;
    app.call(
        Method::POST,
        &format!("/api/driver/orders/{order}/pickup"),
        None,
        Some(&other_driver),
        404,
    )
    .await;

    let out = app
        .call(
            Method::POST,
            &format!("/api/driver/orders/{order}/pickup"),
            None,
            Some(&driver),
            200,
        )
        .await;
    assert_eq!(out["status"], "out_for_delivery");
    // The customer may not cancel now.
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/orders/{order}/cancel"),
            None,
            Some(&customer),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (409, "INVALID_STATE_TRANSITION")
    );

    // Wrong birth date, then under 21: refused, recorded, not delivered.
    let deliver = format!("/api/driver/orders/{order}/deliver");
    let wrong = json!({ "idDocumentType": "drivers_license", "dateOfBirth": "1996-03-15" });
    let (status, body) = app
        .send(Method::POST, &deliver, Some(&wrong), Some(&driver))
        .await;
    assert_eq!(
        (
            status,
            body["code"].as_str().unwrap(),
            body["reason"].as_str().unwrap()
        ),
        (422, "ID_CHECK_FAILED", "birth_date_mismatch")
    );
    let young = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let (status, body) = app
        .send(
            Method::POST,
            &deliver,
            Some(&json!({ "idDocumentType": "passport", "dateOfBirth": young })),
            Some(&driver),
        )
        .await;
    assert_eq!(
        (status, body["reason"].as_str().unwrap()),
        (422, "under_age")
    );
    let failed: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "order.id_check_failed"
        })
        .await;
    assert_eq!(failed.actor_id, driver_id.to_string());
    let (status, _) = app
        .send(
            Method::POST,
            &deliver,
            Some(&json!({ "idDocumentType": "library_card", "dateOfBirth": "1996-03-14" })),
            Some(&driver),
        )
        .await;
    assert_eq!(status, 400);

    // The right ID: delivered, announced, receipt queued for track-and-trace.
    let right = json!({ "idDocumentType": "drivers_license", "dateOfBirth": "1996-03-14", "location": { "latitude": 30.27, "longitude": -97.74 } });
    let delivered = app
        .call(Method::POST, &deliver, Some(&right), Some(&driver), 200)
        .await;
    assert_eq!(delivered["status"], "delivered");
    let event: v1::OrderDelivered = app
        .tap
        .find("order.delivered", |e: &v1::OrderDelivered| {
            e.order_id == order
        })
        .await;
    assert!(event.id_checked);
    assert_eq!(
        event.id_document_type,
        v1::IdDocumentType::DriversLicense as i32
    );
    assert_eq!(event.lines.len(), 1);
    let receipts = testkit::wait_for_value(
        "the receipt accepted",
        std::time::Duration::from_secs(10),
        || async {
            let list = app
                .send(
                    Method::GET,
                    "/api/admin/track-and-trace?status=accepted",
                    None,
                    Some(&app.admin),
                )
                .await
                .1;
            (list["total"] == 1).then_some(list)
        },
    )
    .await;
    assert_eq!(
        receipts["receipts"][0]["receipt"]["Transactions"][0]["PackageLabel"],
        "1A4000000000000000001234"
    );
    assert_eq!(receipts["receipts"][0]["adapter"], "table");
    let history: Vec<&str> = delivered["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history.first(), Some(&"pending"));
    assert_eq!(history.last(), Some(&"delivered"));
}

/// An order a driver has picked up: (customer token, order id, driver token).
async fn out_for_delivery(app: &TestApp) -> (String, String, String) {
    let (customer, order) = confirmed(app).await;
    let (driver_id, driver) = driver(app).await;
    let base = format!("/api/admin/orders/{order}");
    let preparing = json!({ "status": "preparing" });
    let assign = json!({ "driverId": driver_id });
    let admin = Some(app.admin.as_str());
    app.call(
        Method::POST,
        &format!("{base}/status"),
        Some(&preparing),
        admin,
        200,
    )
    .await;
    app.call(
        Method::POST,
        &format!("{base}/assign-driver"),
        Some(&assign),
        admin,
        200,
    )
    .await;
    let pickup = format!("/api/driver/orders/{order}/pickup");
    app.call(Method::POST, &pickup, None, Some(&driver), 200)
        .await;
    (customer, order, driver)
}

/// A delivered order: (customer token, order id).
pub async fn delivered(app: &TestApp) -> (String, String) {
    let (customer, order, driver) = out_for_delivery(app).await;
    let right = json!({ "idDocumentType": "state_id", "dateOfBirth": "1996-03-14" });
    let deliver = format!("/api/driver/orders/{order}/deliver");
    app.call(Method::POST, &deliver, Some(&right), Some(&driver), 200)
        .await;
    (customer, order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_delivered_orders_revenue_and_top_products() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    delivered(&app).await;
    let report = app
        .call(
            Method::GET,
            "/api/admin/reports",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(report["orders"]["placed"], 2);
    assert_eq!(report["orders"]["delivered"], 2);
    // Two $54.30 orders (see the saga tests for the sum).
    assert_eq!(report["orders"]["revenue"], "108.60");
    assert_eq!(report["orders"]["averageOrderValue"], "54.30");
    assert_eq!(report["topProducts"].as_array().unwrap().len(), 2);
    assert_eq!(report["topProducts"][0]["quantity"], 1);
    assert_eq!(report["topProducts"][0]["revenue"], "40.00");
    assert_eq!(report["users"]["newUsers"], 2);
    // 50 available is above the low-stock threshold (10).
    assert_eq!(report["lowStock"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_cancels_the_order() {
    let app = TestApp::spawn().await;
    let (customer, order, driver) = out_for_delivery(&app).await;
    let body =
        json!({ "reason": "id_check_failed", "note": "The ID shown did not match the customer." });
    let cancelled = app
        .call(
            Method::POST,
            &format!("/api/driver/orders/{order}/fail-delivery"),
            Some(&body),
            Some(&driver),
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["statusReason"], "id_check_failed");
    let event: v1::OrderCancelled = app
        .tap
        .find("order.cancelled", |e: &v1::OrderCancelled| {
            e.order_id == order
        })
        .await;
    assert_eq!(
        event.previous_status,
        v1::OrderStatus::OutForDelivery as i32
    );
    assert_eq!(event.payment_status, v1::PaymentStatus::Succeeded as i32);
    let seen = app
        .call(
            Method::GET,
            &format!("/api/orders/{order}"),
            None,
            Some(&customer),
            200,
        )
        .await;
    assert_eq!(seen["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_sees_only_what_is_theirs() {
    let app = TestApp::spawn().await;
    let (customer, order) = confirmed(&app).await;
    let (other, _) = app.customer().await;
    let (_, driver) = driver(&app).await;
    let path = format!("/api/orders/{order}");
    app.call(Method::GET, &path, None, Some(&customer), 200)
        .await;
    app.call(Method::GET, &path, None, Some(&other.token), 404)
        .await;
    app.call(
        Method::POST,
        &format!("{path}/cancel"),
        None,
        Some(&other.token),
        404,
    )
    .await;
    let theirs = app
        .call(Method::GET, "/api/orders", None, Some(&other.token), 200)
        .await;
    assert_eq!(theirs["total"], 0);
    // Customers and drivers are not staff; staff are not customers.
    app.call(Method::GET, "/api/admin/orders", None, Some(&customer), 403)
        .await;
    app.call(Method::GET, "/api/admin/orders", None, Some(&driver), 403)
        .await;
    app.call(
        Method::POST,
        &format!("/api/admin/orders/{order}/status"),
        Some(&json!({ "status": "preparing" })),
        Some(&driver),
        403,
    )
    .await;
    app.call(
        Method::GET,
        "/api/driver/orders",
        None,
        Some(&customer),
        403,
    )
    .await;
    app.call(Method::GET, &path, None, Some(&app.admin), 403)
        .await;
    app.call(
        Method::GET,
        "/api/admin/reports",
        None,
        Some(&app.tokens.token(Role::Agent).1),
        403,
    )
    .await;

    // Admins list and filter every order.
    let admin = app.admin.clone();
    let all = app
        .call(
            Method::GET,
            "/api/admin/orders?status=confirmed&zone=austin",
            None,
            Some(&admin),
            200,
        )
        .await;
    assert_eq!(all["total"], 1);
    let none = app
        .call(
            Method::GET,
            "/api/admin/orders?zone=round_rock",
            None,
            Some(&admin),
            200,
        )
        .await;
    assert_eq!(none["total"], 0);
    let today = Utc::now().date_naive();
    let ranged = app
        .call(
            Method::GET,
            &format!("/api/admin/orders?from={today}&to={today}"),
            None,
            Some(&admin),
            200,
        )
        .await;
    assert_eq!(ranged["total"], 1);
    let before = app
        .call(
            Method::GET,
            "/api/admin/orders?to=2020-01-01",
            None,
            Some(&admin),
            200,
        )
        .await;
    assert_eq!(before["total"], 0);
    app.call(
        Method::GET,
        "/api/admin/orders?from=yesterday",
        None,
        Some(&admin),
        400,
    )
    .await;

    // Admins cancel with a note (required).
    let status = format!("/api/admin/orders/{order}/status");
    app.call(
        Method::POST,
        &status,
        Some(&json!({ "status": "cancelled" })),
        Some(&admin),
        400,
    )
    .await;
    app.call(
        Method::POST,
        &status,
        Some(&json!({ "status": "delivered" })),
        Some(&admin),
        400,
    )
    .await;
    let cancelled = app
        .call(
            Method::POST,
            &status,
            Some(&json!({ "status": "cancelled", "note": "Customer called" })),
            Some(&admin),
            200,
        )
        .await;
    assert_eq!(cancelled["statusReason"], "staff");
    // Over means over.
    let (code, body) = app
        .send(
            Method::POST,
            &status,
            Some(&json!({ "status": "preparing" })),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str().unwrap()),
        (409, "INVALID_STATE_TRANSITION")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_agents_do_not_manage_orders() {
    let app = TestApp::spawn().await;
    let (_, order) = confirmed(&app).await;
    let (driver_id, _) = driver(&app).await;
    let agent = app.tokens.token(Role::Agent).1;
    let base = format!("/api/admin/orders/{order}");
    let cancel = json!({ "status": "cancelled", "note": "Customer called" });
    let assign = json!({ "driverId": driver_id });
    let calls = [
        (Method::GET, "/api/admin/orders".to_owned(), None),
        (Method::GET, base.clone(), None),
        (Method::POST, format!("{base}/status"), Some(&cancel)),
        (
            Method::POST,
            format!("{base}/status"),
            Some(&json!({ "status": "preparing" })),
        ),
        (Method::POST, format!("{base}/assign-driver"), Some(&assign)),
    ];
    for (method, path, body) in &calls {
        let (status, problem) = app.send(method.clone(), path, *body, Some(&agent)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{method} {path}"
        );
    }
    // Nothing changed; an admin still manages the order.
    let seen = app
        .call(Method::GET, &base, None, Some(&app.admin), 200)
        .await;
    assert_eq!(seen["status"], "confirmed");
    let listed = app
        .call(
            Method::GET,
            "/api/admin/orders",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(listed["total"], 1);
    let cancelled = app
        .call(
            Method::POST,
            &format!("{base}/status"),
            Some(&cancel),
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
}
