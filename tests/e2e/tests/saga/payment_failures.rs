//! Payments that do not go through: a declined card ends in `payment_failed`, closed later;
//! a card waiting for the customer's 3-D Secure keeps the order pending until its grace period
//! runs out. Either way catalog gets its stock back.

use chrono::DateTime;
use e2e::{Stock, System, id_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_fails_the_payment_then_the_order_is_closed_and_the_stock_released() {
    let system = System::spawn_with(&[("ORDERS_PAYMENT_FAILED_CLOSE_SECS", "2")]).await;
    let product = system.product(10).await;
    let shopper = system.shopper("pm_card_chargeDeclined").await;
    system.add_to_cart(&shopper.token, product, 3).await;

    let id = id_of(&system.checkout(&shopper, 0).await);
    let order = system
        .wait_for_status(&shopper.token, &id, "cancelled")
        .await;

    // Reserved, declined (`payment_failed`, reason card_declined), then closed by orders'
    // timer. The history keeps the short-lived `payment_failed` step.
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "payment_failed/reserved/failed (card_declined)",
            "cancelled/reserved/failed (payment_failed)",
        ]
    );
    let failed = &order["statusHistory"][2];
    assert_eq!(failed["note"], "Your card was declined.");
    assert_eq!(order["statusReason"], "payment_failed");
    assert_eq!(order["paymentStatus"], "failed");
    // The three packages are back.
    system.wait_for_stock(product, Stock::new(10, 0)).await;
    assert_eq!(system.available(product).await, 10);
    system.wait_for_listing(product, 10).await;
    // Payments recorded the decline.
    let payment = system.wait_for_payment(&id, "failed").await;
    assert_eq!(payment["declineCode"], "generic_decline");
    assert_eq!(payment["cardLast4"], "0002");
    assert_eq!(payment["cardAmount"], order["totalAmount"]);
    assert_eq!(payment["refunded"], "0.00");
    system.settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_waiting_for_the_customer_past_the_grace_period_cancels_the_order() {
    let system = System::spawn_with(&[("ORDERS_PENDING_TIMEOUT_SECS", "2")]).await;
    let product = system.product(10).await;
    let shopper = system.shopper("pm_card_authenticationRequired").await;
    system.add_to_cart(&shopper.token, product, 1).await;

    let id = id_of(&system.checkout(&shopper, 0).await);
    let order = system
        .wait_for_status(&shopper.token, &id, "cancelled")
        .await;

    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "pending/reserved/action_required",
            "cancelled/reserved/action_required (pending_timeout)",
        ]
    );
    assert_eq!(order["statusReason"], "pending_timeout");
    assert_eq!(
        order["statusDetail"],
        "The order was not confirmed in time."
    );
    // Not before the grace period had run out.
    let at = |n: usize| {
        DateTime::parse_from_rfc3339(order["statusHistory"][n]["at"].as_str().unwrap()).unwrap()
    };
    let waited = at(3) - at(0);
    assert!(
        waited >= chrono::Duration::seconds(2),
        "cancelled {waited} after checkout"
    );
    system.wait_for_stock(product, Stock::new(10, 0)).await;
    // Payments dropped the PaymentIntent the customer never confirmed.
    let payment = system.wait_for_payment(&id, "failed").await;
    assert_eq!(payment["failureMessage"], "The order was cancelled.");
    assert_eq!(payment["cardLast4"], "3184");
    system.settled().await;
}
