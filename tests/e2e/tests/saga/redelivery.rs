//! At-least-once delivery: the saga's answers arrive again with the same event id (a
//! redelivery), again with new ids and in the other order (a producer's relay resending after
//! a crash), and a stale failure of the same payment attempt arrives after its success. The
//! confirmed order stays confirmed, with one history entry and one event per real change.

use e2e::{Stock, System, id_of};
use events::v1;
use testkit::TappedEvent;
use uuid::Uuid;

/// The one event named `name` the tap saw for `order`.
async fn only(system: &System, name: &str, order: &str) -> TappedEvent {
    let events = testkit::wait_for_value(&format!("{name} of {order}"), e2e::DEADLINE, || async {
        let events: Vec<_> = system
            .tap
            .named(name)
            .into_iter()
            .filter(|e| e.correlation_id.as_deref() == Some(order))
            .collect();
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(events.len(), 1, "{name}: {events:?}");
    events.into_iter().next().unwrap()
}

fn event_id(event: &TappedEvent) -> Uuid {
    event
        .message_id
        .as_deref()
        .expect("the relay sets the event id as message_id")
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_reordered_and_late_saga_events_change_nothing_after_confirmation() {
    let system = System::spawn().await;
    let product = system.product(10).await;
    let shopper = system.shopper("pm_card_visa").await;
    system.add_to_cart(&shopper.token, product, 1).await;
    let id = id_of(&system.checkout(&shopper, 0).await);
    system
        .wait_for_status(&shopper.token, &id, "confirmed")
        .await;

    let submitted = only(&system, "order.submitted", &id).await;
    let reserved = only(&system, "stock.reserved", &id).await;
    let paid = only(&system, "payment.succeeded", &id).await;
    let submitted_event: v1::OrderSubmitted = submitted.decode();
    let reserved_event: v1::StockReserved = reserved.decode();
    let paid_event: v1::PaymentSucceeded = paid.decode();

    // Redelivered as they were: the inboxes drop them.
    system.publish(&paid_event, Some(event_id(&paid))).await;
    system
        .publish(&reserved_event, Some(event_id(&reserved)))
        .await;
    // Sent again under new ids, payment first: the handlers see nothing left to do.
    let paid_again = system.publish(&paid_event, None).await;
    let reserved_again = system.publish(&reserved_event, None).await;
    let submitted_again = system.publish(&submitted_event, None).await;
    // A decline of the same attempt, late.
    let late_failure = system
        .publish(
            &v1::PaymentFailed {
                order_id: id.clone(),
                payment_id: paid_event.payment_id.clone(),
                customer_id: shopper.id.to_string(),
                attempt: paid_event.attempt,
                amount_cents: paid_event.amount_cents,
                reason: v1::PaymentFailureReason::CardDeclined as i32,
                provider_error_code: "card_declined".into(),
                decline_code: "generic_decline".into(),
                message: "Your card was declined.".into(),
                retryable: true,
                ..Default::default()
            },
            None,
        )
        .await;
    // Orders' saga handles its queue in order, so once the last copies are handled the
    // same-id ones published before them were too.
    for event in [paid_again, reserved_again, late_failure] {
        system.wait_for_handled(event).await;
    }
    let sql =
        format!("SELECT count(*) AS n FROM processed_events WHERE event_id = '{submitted_again}'");
    testkit::wait_for(
        "catalog to handle the repeated submission",
        e2e::DEADLINE,
        || async { system.catalog.count(&sql).await > 0 },
    )
    .await;

    let order = system.order(&shopper.token, &id).await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["paymentStatus"], "succeeded");
    assert_eq!(
        System::history(&order),
        [
            "pending/pending/pending",
            "pending/reserved/pending",
            "confirmed/reserved/succeeded",
        ]
    );
    // What orders published for the order: written in the handlers' transactions, so final
    // once they are handled.
    let outbox = |routing_key: &'static str| {
        let sql = format!(
            "SELECT count(*) AS n FROM outbox WHERE correlation_id = '{id}' AND routing_key = '{routing_key}'"
        );
        let system = &system;
        async move { system.orders.count(&sql).await }
    };
    assert_eq!(outbox("order.submitted").await, 1);
    assert_eq!(outbox("order.payment_requested").await, 1);
    assert_eq!(outbox("order.status_changed").await, 2);
    assert_eq!(outbox("order.cancelled").await, 0);
    // One charge, one reservation.
    assert_eq!(system.payments_of(&id).await.len(), 1);
    assert_eq!(system.stock(product).await, Stock::new(10, 1));
    let decisions = system
        .catalog
        .count(&format!(
            "SELECT count(*) AS n FROM stock_reservations WHERE order_id = '{id}'"
        ))
        .await;
    assert_eq!(decisions, 1);
    system.settled().await;
}
