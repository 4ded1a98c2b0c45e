//! The saga's happy path: catalog reserves the stock, payments charges the card, orders
//! confirms; each service's own state says so.

use e2e::{PRODUCT_NAME, Stock, System, cents, id_of};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_is_confirmed_with_its_stock_reserved_and_its_card_charged() {
    let system = System::spawn().await;
    let product = system.product(10).await;
    let shopper = system.shopper("pm_card_visa").await;
    system.add_to_cart(&shopper.token, product, 2).await;

    let placed = system.checkout(&shopper, 0).await;
    let id = id_of(&placed);
    assert_eq!(placed["subtotal"], "80.00");
    assert_eq!(placed["items"][0]["productName"], PRODUCT_NAME);
    assert_eq!(placed["items"][0]["quantity"], 2);
    let order = system
        .wait_for_status(&shopper.token, &id, "confirmed")
        .await;

    assert_eq!(order["stockStatus"], "reserved");
    assert_eq!(order["paymentStatus"], "succeeded");
    assert!(order["confirmedAt"].is_string(), "{order}");
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "confirmed/reserved/succeeded",
        ]
    );
    // Catalog holds two of the ten for the order: still on hand, no longer available, and
    // orders' read model learns that from catalog's `product.upserted`.
    assert_eq!(system.stock(product).await, Stock::new(10, 2));
    assert_eq!(system.available(product).await, 8);
    system.wait_for_listing(product, 8).await;
    // Payments charged the whole total to the saved Visa, once.
    let payments = system.payments_of(&id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment = &payments[0];
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["attempt"], 1);
    assert_eq!(payment["customerId"], shopper.id.to_string());
    assert_eq!(payment["total"], order["totalAmount"]);
    assert_eq!(payment["cardAmount"], order["totalAmount"]);
    assert_eq!(payment["pointsRedeemed"], 0);
    assert_eq!(
        (
            &payment["methodType"],
            &payment["cardBrand"],
            &payment["cardLast4"]
        ),
        (&"card".into(), &"visa".into(), &"4242".into())
    );
    // $80 plus taxes and the delivery fee.
    assert!(cents(&order["totalAmount"]) > 8000, "{order}");
    // Checkout emptied the cart.
    let cart = system
        .call(
            &system.orders,
            Method::GET,
            "/api/cart",
            None,
            Some(&shopper.token),
            200,
        )
        .await;
    assert_eq!(cart["items"].as_array().map(Vec::len), Some(0), "{cart}");
    system.settled().await;
}
