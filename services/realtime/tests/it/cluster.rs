//! Two replicas on one Redis and one queue: a room spans both, whichever replica consumed the
//! event; a polling session's requests reach its replica through the other.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_sockets_on_both_replicas_get_every_event_whichever_replica_consumed_it() {
    let a = TestApp::spawn().await;
    let b = a.another(&[]).await;
    let (customer, token) = a.token(Role::Customer);
    let mut on_a = a.connect(&token).await;
    let mut on_b = b.connect(&token).await;
    // Both replicas' adapters carry the user's room before anything is published.
    let channel = format!("{}#/#user:{customer}#", a.prefix);
    testkit::wait_for(
        "both replicas subscribed",
        std::time::Duration::from_secs(5),
        || {
            let channel = channel.clone();
            async move {
                let client = redis::Client::open(testkit::redis_url()).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let (_, count): (String, i64) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(&channel)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                count == 2
            }
        },
    )
    .await;
    let orders: Vec<String> = (0..6).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for order in &orders {
        a.publish(&v1::OrderStatusChanged {
            order_id: order.clone(),
            customer_id: customer.clone(),
            status: v1::OrderStatus::Confirmed as i32,
            ..Default::default()
        })
        .await;
    }
    for client in [&mut on_a, &mut on_b] {
        let mut seen = Vec::new();
        for _ in &orders {
            let (name, args) = client.event().await.expect("order-status");
            assert_eq!(name, "order-status");
            seen.push(args[0]["orderId"].as_str().unwrap().to_owned());
        }
        seen.sort();
        let mut expected = orders.clone();
        expected.sort();
        assert_eq!(seen, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_session_of_one_replica_is_served_through_the_other() {
    let a = TestApp::spawn().await;
    let b = a.another(&[]).await;
    let http = reqwest::Client::new();
    let open = http
        .get(format!("{}/socket.io/?EIO=4&transport=polling", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, token) = a.token(Role::Customer);
    let on_b = format!("{}/socket.io/?EIO=4&transport=polling&sid={sid}", b.base);
    // Until B has read A's address, A's sessions are unknown to it.
    testkit::wait_for(
        "B forwards to A",
        std::time::Duration::from_secs(10),
        || {
            let (http, on_b, token) = (&http, &on_b, &token);
            async move {
                http.post(on_b)
                    .body(format!(r#"40{{"token":"{token}"}}"#))
                    .send()
                    .await
                    .is_ok_and(|answer| answer.status() == 200)
            }
        },
    )
    .await;
    let connected = http.get(&on_b).send().await.unwrap().text().await.unwrap();
    assert!(connected.starts_with("40{\"sid\""), "{connected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_shutting_down_sends_its_clients_to_the_other_which_serves_them() {
    let a = TestApp::spawn().await;
    let b = a.another(&[]).await;
    let (customer, token) = a.token(Role::Customer);
    let mut on_a = a.connect(&token).await;
    a.shutdown.trigger();
    assert!(
        on_a.closed_within(std::time::Duration::from_secs(3)).await,
        "told to go"
    );
    // The client reconnects (socket.io-client does so by itself after a transport close) and
    // the balancer sends it to the replica still up, which consumes the bus from now on.
    let mut on_b = b.connect(&token).await;
    let order = uuid::Uuid::now_v7().to_string();
    a.publish(&v1::OrderStatusChanged {
        order_id: order.clone(),
        customer_id: customer,
        status: v1::OrderStatus::Preparing as i32,
        ..Default::default()
    })
    .await;
    let (name, args) = on_b
        .event()
        .await
        .expect("order-status on the other replica");
    assert_eq!(name, "order-status");
    assert_eq!(args[0]["orderId"], order.as_str());
}
