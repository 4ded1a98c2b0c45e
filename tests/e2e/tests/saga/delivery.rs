//! Staff prepare the order and assign a driver, the driver picks it up and checks the ID at
//! the door. A wrong ID stops the hand-over: the order is cancelled, refunded and its stock
//! released. The right ID delivers it: catalog takes the packages out of stock, payments
//! credits reward points and a track-and-trace receipt is queued.

use domain::Role;
use e2e::{CUSTOMER_DOB, Shopper, Stock, System, User, cents, id_of};
use reqwest::Method;
use serde_json::{Value, json};

/// A confirmed order of `quantity` packages taken out for delivery by `driver`.
async fn out_for_delivery(
    system: &System,
    shopper: &Shopper,
    driver: &User,
    product: uuid::Uuid,
    quantity: u32,
) -> String {
    system.add_to_cart(&shopper.token, product, quantity).await;
    let id = id_of(&system.checkout(shopper, 0).await);
    system
        .wait_for_status(&shopper.token, &id, "confirmed")
        .await;
    let admin = Some(system.admin.as_str());
    let preparing = system
        .call(
            &system.orders,
            Method::POST,
            &format!("/api/admin/orders/{id}/status"),
            Some(&json!({ "status": "preparing" })),
            admin,
            200,
        )
        .await;
    assert_eq!(preparing["status"], "preparing");
    let assigned = system
        .call(
            &system.orders,
            Method::POST,
            &format!("/api/admin/orders/{id}/assign-driver"),
            Some(&json!({ "driverId": driver.id })),
            admin,
            200,
        )
        .await;
    assert_eq!(assigned["driverId"], driver.id.to_string());
    let picked_up = system
        .call(
            &system.orders,
            Method::POST,
            &format!("/api/driver/orders/{id}/pickup"),
            None,
            Some(&driver.token),
            200,
        )
        .await;
    assert_eq!(picked_up["status"], "out_for_delivery");
    id
}

async fn deliver(system: &System, driver: &User, order: &str, date_of_birth: &str) -> (u16, Value) {
    let body = json!({ "idDocumentType": "drivers_license", "dateOfBirth": date_of_birth });
    system
        .send(
            &system.orders,
            Method::POST,
            &format!("/api/driver/orders/{order}/deliver"),
            Some(&body),
            Some(&driver.token),
        )
        .await
}

/// The track-and-trace receipts orders holds.
async fn receipts(system: &System) -> Vec<Value> {
    let list = system
        .call(
            &system.orders,
            Method::GET,
            "/api/admin/track-and-trace",
            None,
            Some(&system.admin),
            200,
        )
        .await;
    list["receipts"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_id_check_at_the_door_cancels_refunds_and_restocks_the_order() {
    let system = System::spawn().await;
    let product = system.product(10).await;
    let driver = system.user(Role::Driver, "1988-07-02").await;
    let shopper = system.shopper("pm_card_visa").await;
    let id = out_for_delivery(&system, &shopper, &driver, product, 2).await;

    // The ID shows an adult, but not the customer.
    let (status, problem) = deliver(&system, &driver, &id, "1990-01-01").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "ID_CHECK_FAILED");
    assert_eq!(problem["reason"], "birth_date_mismatch");
    let order = system.order(&shopper.token, &id).await;
    assert_eq!(order["status"], "out_for_delivery");

    let failed = system
        .call(
            &system.orders,
            Method::POST,
            &format!("/api/driver/orders/{id}/fail-delivery"),
            Some(&json!({ "reason": "id_check_failed", "note": "The ID was not the customer's." })),
            Some(&driver.token),
            200,
        )
        .await;
    assert_eq!(failed["status"], "cancelled");
    assert_eq!(failed["statusReason"], "id_check_failed");

    let order = system
        .wait_for_order(&shopper.token, &id, "payment refunded", |o| {
            o["paymentStatus"] == "refunded"
        })
        .await;
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "confirmed/reserved/succeeded",
            "preparing/reserved/succeeded",
            "out_for_delivery/reserved/succeeded",
            "cancelled/reserved/succeeded (id_check_failed)",
            "cancelled/reserved/refunded",
        ]
    );
    let payment = system.wait_for_payment(&id, "refunded").await;
    assert_eq!(payment["refunded"], order["totalAmount"]);
    system.wait_for_stock(product, Stock::new(10, 0)).await;
    // Nothing was sold: no points, no receipt.
    assert_eq!(system.balance(&shopper.token).await, 0);
    assert_eq!(receipts(&system).await, Vec::<Value>::new());
    system.settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_after_the_id_check_commits_the_stock_credits_points_and_queues_a_receipt() {
    let system = System::spawn().await;
    let product = system.product(10).await;
    let driver = system.user(Role::Driver, "1988-07-02").await;
    let shopper = system.shopper("pm_card_visa").await;
    let id = out_for_delivery(&system, &shopper, &driver, product, 2).await;

    let (status, delivered) = deliver(&system, &driver, &id, CUSTOMER_DOB).await;
    assert_eq!(status, 200, "{delivered}");
    assert_eq!(delivered["status"], "delivered");
    assert!(delivered["deliveredAt"].is_string(), "{delivered}");
    assert_eq!(
        System::history(&delivered),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "confirmed/reserved/succeeded",
            "preparing/reserved/succeeded",
            "out_for_delivery/reserved/succeeded",
            "delivered/reserved/succeeded",
        ]
    );
    // Catalog takes the two packages out of stock on hand (the reservation is committed).
    system.wait_for_stock(product, Stock::new(8, 0)).await;
    assert_eq!(system.available(product).await, 8);
    // Payments credits one point per whole dollar charged.
    let charged = cents(&delivered["totalAmount"]);
    let expected = charged / 100;
    testkit::wait_for("the reward points", e2e::DEADLINE, || async {
        system.balance(&shopper.token).await == expected
    })
    .await;
    let payment = system.wait_for_payment(&id, "succeeded").await;
    assert_eq!(cents(&payment["cardAmount"]), charged);
    // The sale is queued for track-and-trace.
    let receipts = receipts(&system).await;
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    let receipt = &receipts[0];
    assert_eq!(receipt["orderId"], id);
    assert_eq!(receipt["jurisdiction"], "TX");
    assert_eq!(
        receipt["receipt"]["ExternalReceiptNumber"],
        delivered["orderNumber"]
    );
    assert_eq!(
        receipt["receipt"]["IdentificationMethod"],
        "drivers_license"
    );
    let line = &receipt["receipt"]["Transactions"][0];
    assert_eq!(line["PackageLabel"], "1A4000000000000000001234");
    assert_eq!(line["Quantity"], 2);
    system.settled().await;
}
