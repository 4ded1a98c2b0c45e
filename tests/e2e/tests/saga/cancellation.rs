//! The customer cancels a paid order: catalog releases the stock, payments refunds the card
//! and gives the redeemed FS Coin points back, and orders shows the refund.

use e2e::{Stock, System, cents, id_of};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cancelling_a_paid_order_gets_the_card_refunded_and_the_points_back() {
    let system = System::spawn().await;
    let product = system.product(10).await;
    let shopper = system.shopper("pm_card_visa").await;
    system.give_points(shopper.id, 500).await;
    assert_eq!(system.balance(&shopper.token).await, 500);
    system.add_to_cart(&shopper.token, product, 1).await;

    let placed = system.checkout(&shopper, 500).await;
    assert_eq!(placed["pointsToRedeem"], 500);
    let id = id_of(&placed);
    let order = system
        .wait_for_status(&shopper.token, &id, "confirmed")
        .await;
    let total = cents(&order["totalAmount"]);
    // $5.00 in points, the rest on the card.
    let payment = &system.payments_of(&id).await[0];
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["pointsRedeemed"], 500);
    assert_eq!(cents(&payment["cardAmount"]), total - 500);
    assert_eq!(system.balance(&shopper.token).await, 0);
    assert_eq!(system.stock(product).await, Stock::new(10, 1));

    let path = format!("/api/orders/{id}/cancel");
    let cancelled = system
        .call(
            &system.orders,
            Method::POST,
            &path,
            Some(&json!({ "reason": "Changed my mind" })),
            Some(&shopper.token),
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["statusReason"], "customer_requested");

    let order = system
        .wait_for_order(&shopper.token, &id, "payment refunded", |o| {
            o["paymentStatus"] == "refunded"
        })
        .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "confirmed/reserved/succeeded",
            "cancelled/reserved/succeeded (customer_requested)",
            "cancelled/reserved/refunded",
        ]
    );
    let payment = system.wait_for_payment(&id, "refunded").await;
    assert_eq!(cents(&payment["refunded"]), total - 500);
    assert_eq!(payment["pointsRestored"], 500);
    assert_eq!(system.balance(&shopper.token).await, 500);
    let rewards = system
        .call(
            &system.payments,
            Method::GET,
            "/api/users/rewards",
            None,
            Some(&shopper.token),
            200,
        )
        .await;
    let kinds: Vec<&str> = rewards["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["restored", "redeemed", "adjusted"]);
    system.wait_for_stock(product, Stock::new(10, 0)).await;
    system.wait_for_listing(product, 10).await;
    system.settled().await;
}
