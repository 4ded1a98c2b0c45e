//! `/socket.io/`, the guide's one Socket.IO connection, through the gateway to realtime (a
//! stand-in here): long polls and their POSTs, and the upgrade to WebSocket, all without a
//! token at the HTTP level (socket.io-client sends it in its CONNECT packet, which realtime
//! checks).

use crate::helpers::Setup;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test(flavor = "multi_thread")]
async fn long_polling_reaches_realtime_without_a_token() {
    let setup = Setup::new().await;
    setup.gateway.wait_cluster("realtime", "up").await;
    // The handshake, as socket.io-client sends it: no Authorization, no token in the query.
    let open = setup
        .gateway
        .get("/socket.io/?EIO=4&transport=polling&t=PxQ1a")
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let seen: Value = open.json().await.unwrap();
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/socket.io/");
    assert_eq!(seen["query"], "EIO=4&transport=polling&t=PxQ1a");
    // The client's address as the gateway determined it: realtime limits handshakes by it.
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");

    // A POST of the session: its CONNECT packet, with the token realtime checks.
    let connect = r#"40{"token":"eyJ.a.b"}"#;
    let posted = setup
        .gateway
        .post("/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(connect)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let seen: Value = posted.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"], connect);

    // A header the gateway would otherwise verify is not its business on this route.
    let with_garbage = setup
        .gateway
        .get("/socket.io/?EIO=4&transport=polling")
        .header("authorization", "Bearer not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(with_garbage.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upgrade_to_websocket_crosses_the_gateway_both_ways() {
    let setup = Setup::new().await;
    setup.gateway.wait_cluster("realtime", "up").await;
    let base = setup.gateway.url("/socket.io/").replace("http://", "ws://");
    // The upgrade of a polling session, and a session opened on WebSocket directly
    // (`transports: ['websocket']`).
    for query in [
        "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAAAAAA",
        "EIO=4&transport=websocket",
    ] {
        let request = format!("{base}?{query}").into_client_request().unwrap();
        let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status(), 101);
        let seen: Value = serde_json::from_str(
            socket
                .next()
                .await
                .unwrap()
                .unwrap()
                .into_text()
                .unwrap()
                .as_str(),
        )
        .unwrap();
        assert_eq!(seen["path"], "/socket.io/");
        assert_eq!(seen["query"], query);
        assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
        assert!(seen["headers"].get("authorization").is_none());

        // Engine.IO's probe, a message, an attachment.
        for text in ["2probe", r#"42["track-order",{"orderId":"x"}]"#] {
            socket.send(Message::text(text)).await.unwrap();
            let echoed = socket.next().await.unwrap().unwrap();
            assert_eq!(echoed.into_text().unwrap().as_str(), text);
        }
        socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap().into_data().as_ref(),
            [1, 2, 3]
        );
        let metrics = setup.gateway.metrics().await;
        assert!(
            metrics.contains("gateway_websocket_tunnels_open{service=\"gateway\"} 1"),
            "{metrics}"
        );
        socket.close(None).await.unwrap();
        while socket.next().await.is_some() {}
        drop(socket);
        // The tunnel closes with the connection.
        let gateway = &setup.gateway;
        testkit::wait_for(
            "the tunnel closed",
            std::time::Duration::from_secs(5),
            || async move {
                gateway
                    .metrics()
                    .await
                    .contains("gateway_websocket_tunnels_open{service=\"gateway\"} 0")
            },
        )
        .await;
    }
}
