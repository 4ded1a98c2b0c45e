//! The Socket.IO v5 protocol (`socketio/socket.io-protocol`, README and test suite), point by
//! point, over WebSocket and long-polling.

use crate::helpers::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const WS: &str = "/socket.io/?EIO=4&transport=websocket";

async fn engine_ws(server: &TestServer) -> Ws {
    let mut ws = ws(&server.ws_url(WS)).await;
    let open = next_text(&mut ws).await.unwrap();
    assert!(open.starts_with('0'));
    ws
}

// --- Connection to a namespace -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_the_main_namespace_answers_its_socket_id() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, "40").await;
    let connected = next_text(&mut ws).await.unwrap();
    assert!(connected.starts_with("40"), "{connected}");
    let handshake: Value = serde_json::from_str(&connected[2..]).unwrap();
    assert_eq!(handshake.as_object().unwrap().len(), 1);
    assert!(handshake["sid"].is_string());
    // The test handler greets with the auth payload it got: none.
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["auth",{}]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_carries_an_auth_payload() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, r#"40{"token":"123"}"#).await;
    assert!(next_text(&mut ws).await.unwrap().starts_with("40{"));
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["auth",{"token":"123"}]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_custom_namespace_with_and_without_payload() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, "40/custom,").await;
    let connected = next_text(&mut ws).await.unwrap();
    assert!(connected.starts_with("40/custom,"), "{connected}");
    let handshake: Value = serde_json::from_str(&connected[10..]).unwrap();
    assert!(handshake["sid"].is_string());
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42/custom,["auth",{}]"#)
    );

    let mut ws = engine_ws(&server).await;
    send(&mut ws, r#"40/custom,{"token":"abc"}"#).await;
    assert!(next_text(&mut ws).await.unwrap().starts_with("40/custom,"));
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42/custom,["auth",{"token":"abc"}]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_namespace_is_refused_with_invalid_namespace() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, "40/random").await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"44/random,{"message":"Invalid namespace"}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_gets_connect_error_with_message_and_data() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, r#"40{"token":"refuse"}"#).await;
    let refused = next_text(&mut ws).await.unwrap();
    assert!(refused.starts_with("44{"), "{refused}");
    assert_eq!(
        serde_json::from_str::<Value>(&refused[2..]).unwrap(),
        json!({"message": "Not authorized", "data": {"code": "NOPE"}})
    );
    // The session stays open: the client may try again.
    send(&mut ws, r#"40{"token":"ok"}"#).await;
    assert!(next_text(&mut ws).await.unwrap().starts_with("40{"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_handshake_closes_the_connection() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, "4abc").await;
    assert!(closes(&mut ws, Duration::from_secs(1)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_packet_other_than_connect_closes_the_connection() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    send(&mut ws, r#"42["message",1]"#).await;
    assert!(closes(&mut ws, Duration::from_secs(1)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connect_within_the_connect_timeout_closes_the_connection() {
    let server = TestServer::start(quick()).await;
    let mut ws = engine_ws(&server).await;
    // Answering pings keeps the session alive; only the missing CONNECT ends it (1 s).
    let started = tokio::time::Instant::now();
    assert!(next_text(&mut ws).await.is_none());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

// --- Disconnection -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_from_the_main_namespace_expects_no_answer() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, "41").await;
    // Nothing but the next ping.
    match next(&mut ws).await {
        Some(Message::Text(text)) => assert_eq!(text.as_str(), "2"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_from_a_custom_namespace_keeps_the_main_one() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, "40/custom").await;
    assert!(next_text(&mut ws).await.unwrap().starts_with("40/custom,"));
    assert!(next_text(&mut ws).await.unwrap().starts_with("42/custom,"));
    send(&mut ws, "41/custom").await;
    send(&mut ws, r#"42["message","message to main namespace"]"#).await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["message-back","message to main namespace"]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_disconnect_sends_disconnect_and_keeps_the_session() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, r#"42["disconnect-me"]"#).await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("41"));
    // Events for the namespace left are dropped; the session can connect again.
    send(&mut ws, r#"42["message",1]"#).await;
    send(&mut ws, "40").await;
    assert!(next_text(&mut ws).await.unwrap().starts_with("40{"));
}

// --- Events and acks -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_event_is_received() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["message-back",1,"2",{"3":[true]}]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_attachments_travel_both_ways() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(
        &mut ws,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::binary(vec![4u8, 5, 6])).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
    for expected in [[1u8, 2, 3], [4, 5, 6]] {
        match next(&mut ws).await.unwrap() {
            Message::Binary(data) => assert_eq!(data.as_ref(), expected),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_with_an_ack_id_gets_its_ack() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, r#"42456["message-with-ack",1,"2",{"3":[false]}]"#).await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"43456[1,"2",{"3":[false]}]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_event_with_an_ack_gets_a_binary_ack() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(
        &mut ws,
        r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::binary(vec![4u8, 5, 6])).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
    for expected in [[1u8, 2, 3], [4, 5, 6]] {
        match next(&mut ws).await.unwrap() {
            Message::Binary(data) => assert_eq!(data.as_ref(), expected),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_asks_with_an_ack_and_reads_the_clients_answer() {
    let server = TestServer::start(quick()).await;
    let mut ws = socketio_ws(&server, "").await;
    send(&mut ws, r#"421["ask","what time is it"]"#).await;
    let question = next_text(&mut ws).await.unwrap();
    // `42<id>["question",...]`: the server's own ack id.
    let id: String = question[2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!id.is_empty(), "{question}");
    assert!(
        question.ends_with(r#"["question","what time is it"]"#),
        "{question}"
    );
    send(&mut ws, &format!(r#"43{id}["noon"]"#)).await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some(r#"431["noon"]"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_close_the_connection() {
    let server = TestServer::start(quick()).await;
    for packet in [
        "4abc",                                             // unknown packet type
        "42{}",                                             // payload not an array
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#, // invalid ack id
        "42[]",                                             // no event name
        r#"42["disconnect"]"#,                              // a reserved name
        "43[1]",                                            // an ack without id
        r#"44{"message":"x"}"#,                             // CONNECT_ERROR from a client
    ] {
        let mut ws = socketio_ws(&server, "").await;
        send(&mut ws, packet).await;
        assert!(closes(&mut ws, Duration::from_secs(1)).await, "{packet}");
    }
}

// --- Over long-polling ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_session_over_long_polling() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/socket.io/").await;
    let url = server.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
    assert_eq!(post(&url, "40").await, (200, "ok".to_owned()));
    let (status, body) = get(&url).await;
    assert_eq!(status, 200);
    // The CONNECT answer and the greeting, batched in one payload.
    let packets: Vec<&str> = body.split('\x1e').collect();
    assert!(packets[0].starts_with("40{\"sid\""), "{body}");
    assert_eq!(packets[1], r#"42["auth",{}]"#);
    assert_eq!(
        post(
            &url,
            "42[\"message\",\"hello\"]\x1e42[\"message\",\"world\"]"
        )
        .await,
        (200, "ok".to_owned())
    );
    assert_eq!(
        get(&url).await.1,
        "42[\"message-back\",\"hello\"]\x1e42[\"message-back\",\"world\"]"
    );
}

// --- Rooms and broadcasts ------------------------------------------------------------------

async fn ack_of(ws: &mut Ws, id: u32, event: &str, args: &[Value]) -> Value {
    let mut payload = vec![json!(event)];
    payload.extend_from_slice(args);
    send(ws, &format!("42{id}{}", Value::Array(payload))).await;
    let answer = next_text(ws).await.unwrap();
    let prefix = format!("43{id}");
    assert!(answer.starts_with(&prefix), "{answer}");
    serde_json::from_str(&answer[prefix.len()..]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_the_room_without_the_sender_where_asked() {
    let server = TestServer::start(quick()).await;
    let mut alice = socketio_ws(&server, r#"{"room":"order:1"}"#).await;
    let mut bob = socketio_ws(&server, r#"{"room":"order:1"}"#).await;
    let mut carol = socketio_ws(&server, r#"{"room":"order:2"}"#).await;

    // To the room, the sender left out: only bob.
    assert_eq!(
        ack_of(&mut alice, 1, "broadcast", &[json!("order:1"), json!("hi")]).await,
        json!([1])
    );
    assert_eq!(
        next_text(&mut bob).await.as_deref(),
        Some(r#"42["broadcast","hi"]"#)
    );
    // To the room through the server: alice too.
    assert_eq!(
        ack_of(&mut carol, 2, "publish", &[json!("order:1"), json!("all")]).await,
        json!([2])
    );
    for ws in [&mut alice, &mut bob] {
        assert_eq!(
            next_text(ws).await.as_deref(),
            Some(r#"42["broadcast","all"]"#)
        );
    }
    // Leaving the room: no more.
    assert_eq!(
        ack_of(&mut bob, 3, "leave", &[json!("order:1")]).await,
        json!([true])
    );
    assert_eq!(
        ack_of(
            &mut carol,
            4,
            "publish",
            &[json!("order:1"), json!("again")]
        )
        .await,
        json!([1])
    );
    assert_eq!(
        ack_of(&mut bob, 5, "rooms", &[]).await,
        json!([[]]),
        "bob's rooms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_socket_leaves_its_rooms() {
    let server = TestServer::start(quick()).await;
    let alice = socketio_ws(&server, r#"{"room":"chat:1"}"#).await;
    let mut bob = socketio_ws(&server, "").await;
    drop(alice);
    let ns = server.io.of("/").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while ns.has_room("chat:1") {
        assert!(tokio::time::Instant::now() < deadline, "the room stays");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ack_of(&mut bob, 1, "publish", &[json!("chat:1"), json!("x")]).await,
        json!([0])
    );
}
