//! Orders checks stock against its read model; catalog has the last word. When the read model
//! is stale, catalog refuses the reservation and the order is cancelled `out_of_stock`
//! without any payment.

use e2e::{PRODUCT_NAME, Stock, System, id_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_catalog_cannot_reserve_is_cancelled_out_of_stock_without_a_payment() {
    let system = System::spawn().await;
    let product = system.product(5).await;
    let shopper = system.shopper("pm_card_visa").await;
    system.add_to_cart(&shopper.token, product, 2).await;
    // A stock count in catalog finds one package, written behind catalog's back (no
    // `product.upserted`), so orders' read model still offers five.
    let updated = system
        .catalog
        .execute(&format!(
            "UPDATE products SET stock_quantity = 1 WHERE id = '{product}'"
        ))
        .await;
    assert_eq!(updated, 1);

    let id = id_of(&system.checkout(&shopper, 0).await);
    let order = system
        .wait_for_status(&shopper.token, &id, "cancelled")
        .await;

    assert_eq!(order["statusReason"], "out_of_stock");
    assert_eq!(order["stockStatus"], "rejected");
    assert_eq!(order["paymentStatus"], "pending");
    assert_eq!(
        order["statusDetail"],
        format!("{PRODUCT_NAME}: 1 of 2 available")
    );
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "cancelled/rejected/pending (out_of_stock)",
        ]
    );
    // Nothing was reserved, and payments was never asked to charge.
    assert_eq!(system.stock(product).await, Stock::new(1, 0));
    let requested = system
        .orders
        .count(&format!(
            "SELECT count(*) AS n FROM outbox WHERE correlation_id = '{id}' AND routing_key = 'order.payment_requested'"
        ))
        .await;
    assert_eq!(requested, 0);
    assert_eq!(
        system.payments_of(&id).await,
        Vec::<serde_json::Value>::new()
    );
    system.settled().await;
}
