use crate::helpers::Setup;
use domain::Role;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test(flavor = "multi_thread")]
async fn websocket_messages_cross_the_gateway_both_ways() {
    let setup = Setup::new().await;
    setup.gateway.wait_cluster("ws", "up").await;
    let (_, token) = setup.tokens.token(Role::Customer);
    let url = setup.gateway.url("/ws/echo").replace("http://", "ws://");

    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    for text in ["hello", "driver is 2 minutes away"] {
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

    // The browser form: the token in the query.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}?access_token={token}"))
        .await
        .unwrap();
    socket.send(Message::text("ping")).await.unwrap();
    assert_eq!(
        socket
            .next()
            .await
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap()
            .as_str(),
        "ping"
    );

    // No token, no tunnel.
    let refused = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401 handshake, got {other}"),
    }
}
