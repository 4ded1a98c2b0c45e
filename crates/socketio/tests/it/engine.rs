//! The Engine.IO v4 protocol (`socketio/engine.io-protocol`, README and test suite), point by
//! point, against the echo server at `/engine.io/`.

use crate::helpers::*;
use serde_json::Value;
use socketio::Config;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const Q: &str = "/engine.io/?EIO=4&transport=polling";

fn session_url(server: &TestServer, sid: &str) -> String {
    server.url(&format!("{Q}&sid={sid}"))
}

// --- Handshake ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_handshake_answers_an_open_packet_with_the_settings() {
    let server = TestServer::start(quick()).await;
    let (status, body) = get(&server.url(Q)).await;
    assert_eq!(status, 200);
    assert!(body.starts_with('0'), "{body}");
    let open: Value = serde_json::from_str(&body[1..]).unwrap();
    let mut keys: Vec<&str> = open
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert!(open["sid"].is_string());
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_mandatory_parameter_or_method_is_a_400() {
    let server = TestServer::start(steady()).await;
    for query in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=abc&transport=polling",
        "/engine.io/?EIO=3&transport=polling",
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=abc",
    ] {
        assert_eq!(get(&server.url(query)).await.0, 400, "{query}");
    }
    // A new session is opened with GET only.
    assert_eq!(post(&server.url(Q), "").await.0, 400);
    let put = reqwest::Client::new()
        .put(server.url(Q))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400);
    assert_eq!(
        put.headers()["content-type"],
        "application/problem+json",
        "our 400s are problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshake_answers_an_open_packet_without_upgrades() {
    let server = TestServer::start(quick()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    let open = next_text(&mut ws).await.unwrap();
    assert!(open.starts_with('0'), "{open}");
    let open: Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_with_an_invalid_parameter_is_refused() {
    let server = TestServer::start(steady()).await;
    for query in [
        "/engine.io/?transport=websocket",
        "/engine.io/?EIO=abc&transport=websocket",
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=abc",
        "/engine.io/?EIO=4&transport=websocket&sid=unknown",
    ] {
        let refused = tokio_tungstenite::connect_async(server.ws_url(query)).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400, "{query}");
            }
            other => panic!("{query}: expected a refused handshake, got {other:?}"),
        }
    }
}

// --- Sending and receiving over long-polling ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sends_and_receives_one_packet_several_and_binary() {
    let server = TestServer::start(steady()).await;
    for payload in [
        "4hello",
        "4test1\x1e4test2\x1e4test3",
        "4hello\x1ebAQIDBA==",
    ] {
        let sid = open_polling(&server, "/engine.io/").await;
        let url = session_url(&server, &sid);
        assert_eq!(post(&url, payload).await, (200, "ok".to_owned()));
        assert_eq!(get(&url).await, (200, payload.to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_answers_are_plain_text() {
    let server = TestServer::start(steady()).await;
    let response = reqwest::get(server.url(Q)).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=UTF-8"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_is_a_400_for_get_and_post() {
    let server = TestServer::start(steady()).await;
    // A well-formed id no session has, and one that is not an id of ours.
    let unknown = format!("{}AAAAAAAAAAAAAAAA", server.node);
    for sid in [unknown.as_str(), "lv_VI97HAXpY6yYWAAAC"] {
        let url = session_url(&server, sid);
        assert_eq!(get(&url).await.0, 400, "{sid}");
        assert_eq!(post(&url, "4x").await.0, 400, "{sid}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_packet_closes_the_session() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    assert_eq!(post(&url, "abc").await.0, 400);
    assert_eq!(get(&url).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pending_get_closes_the_session() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let first = tokio::spawn({
        let url = url.clone();
        async move { get(&url).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = get(&format!("{url}&t=burst")).await;
    assert_eq!(second.0, 400);
    // The pending poll ends with a close packet.
    assert_eq!(first.await.unwrap(), (200, "1".to_owned()));
    assert_eq!(get(&url).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_active_post_closes_the_session() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    // A POST whose body is still coming keeps the first one active.
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 10\r\n\r\n4he"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(post(&url, "3").await.0, 400);
    assert_eq!(get(&url).await.0, 400);
}

// --- WebSocket -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sends_and_receives_text_and_binary() {
    let server = TestServer::start(steady()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    send(&mut ws, "4hello").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("4hello"));
    use futures_util::SinkExt;
    ws.send(Message::binary(vec![1u8, 2, 3, 4])).await.unwrap();
    // Binary frames travel as they are, without the `b` prefix and base64.
    match next(&mut ws).await.unwrap() {
        Message::Binary(data) => assert_eq!(data.as_ref(), [1, 2, 3, 4]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_closes_on_an_invalid_packet() {
    let server = TestServer::start(steady()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    send(&mut ws, "abc").await;
    assert!(closes(&mut ws, Duration::from_secs(2)).await);
}

// --- Heartbeat -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_pings_and_takes_pongs() {
    let server = TestServer::start(quick()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    for _ in 0..3 {
        assert_eq!(get(&url).await, (200, "2".to_owned()));
        assert_eq!(post(&url, "3").await.0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_closes_the_session_on_ping_timeout() {
    let server = TestServer::start(quick()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    tokio::time::sleep(Duration::from_millis(300 + 200 + 100)).await;
    assert_eq!(get(&session_url(&server, &sid)).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pings_and_takes_pongs() {
    let server = TestServer::start(quick()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    for _ in 0..3 {
        match next(&mut ws).await {
            Some(Message::Text(text)) => assert_eq!(text.as_str(), "2"),
            other => panic!("{other:?}"),
        }
        send(&mut ws, "3").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_closes_the_session_on_ping_timeout() {
    let server = TestServer::start(quick()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    // Never answering the ping.
    assert!(closes(&mut ws, Duration::from_secs(2)).await);
}

// --- Close ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_close_ends_the_pending_poll_with_noop() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let (poll, closing) = tokio::join!(get(&url), async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        post(&url, "1").await
    });
    assert_eq!(closing.0, 200);
    assert_eq!(poll, (200, "6".to_owned()));
    assert_eq!(get(&url).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_close_packet_closes_the_socket() {
    let server = TestServer::start(steady()).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    send(&mut ws, "1").await;
    assert!(closes(&mut ws, Duration::from_secs(1)).await);
}

// --- Upgrade -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_upgrades_to_websocket_with_probe_noop_and_upgrade() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let mut ws =
        ws(&server.ws_url(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))).await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    // The poll after the probe ends polling cleanly.
    assert_eq!(
        get(&session_url(&server, &sid)).await,
        (200, "6".to_owned())
    );
    send(&mut ws, "5").await;
    send(&mut ws, "4hello").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("4hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_pending_at_the_probe_gets_noop() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let poll = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut ws =
        ws(&server.ws_url(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))).await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    assert_eq!(poll.await.unwrap(), (200, "6".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_upgrade_polling_and_a_second_websocket_are_refused() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let ws_url = server.ws_url(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"));
    let mut ws = ws(&ws_url).await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    send(&mut ws, "5").await;
    // Once the server has the upgrade, the session is on WebSocket.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let (status, _) = get(&session_url(&server, &sid)).await;
        if status == 400 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still polling");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match tokio_tungstenite::connect_async(ws_url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        Ok((mut second, _)) => assert!(closes(&mut second, Duration::from_secs(1)).await),
        Err(other) => panic!("{other}"),
    }
    send(&mut ws, "4hello").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("4hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_queued_during_the_upgrade_arrive_over_the_websocket() {
    let server = TestServer::start(steady()).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let mut ws =
        ws(&server.ws_url(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))).await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    // Still on polling: the echo is queued, not polled.
    assert_eq!(post(&url, "4queued").await.0, 200);
    send(&mut ws, "5").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("4queued"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_without_the_upgrade_packet_leaves_the_session_polling() {
    let config = Config {
        upgrade_timeout: Duration::from_millis(200),
        ..steady()
    };
    let server = TestServer::start(config).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let mut ws =
        ws(&server.ws_url(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))).await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    tokio::time::sleep(Duration::from_millis(250)).await;
    // Back on polling: messages flow there again.
    assert_eq!(post(&url, "4still").await.0, 200);
    let (status, body) = get(&url).await;
    assert_eq!(status, 200);
    assert!(body.contains("4still"), "{body}");
}

// --- maxPayload and slow clients --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_max_payload_is_a_413_and_closes_the_session() {
    let config = Config {
        max_payload: 100,
        ..steady()
    };
    let server = TestServer::start(config).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    let (status, body) = post(&url, &format!("4{}", "x".repeat(100))).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(get(&url).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_message_over_max_payload_closes_the_session() {
    let config = Config {
        max_payload: 100,
        ..steady()
    };
    let server = TestServer::start(config).await;
    let mut ws = ws(&server.ws_url("/engine.io/?EIO=4&transport=websocket")).await;
    next_text(&mut ws).await.unwrap();
    send(&mut ws, &format!("4{}", "x".repeat(50))).await;
    assert!(
        next_text(&mut ws).await.is_some(),
        "under the limit: echoed"
    );
    send(&mut ws, &format!("4{}", "x".repeat(200))).await;
    assert!(closes(&mut ws, Duration::from_secs(1)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_when_its_queue_fills() {
    let config = Config {
        max_buffered_packets: 4,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let sid = open_polling(&server, "/engine.io/").await;
    let url = session_url(&server, &sid);
    // Never polled: the echoes pile up.
    assert_eq!(post(&url, "4a\x1e4b\x1e4c\x1e4d").await.0, 200);
    let _ = post(&url, "4e").await;
    assert_eq!(get(&url).await.0, 400);
    let sid: socketio::Sid = sid.parse().unwrap();
    assert!(server.echo.session(&sid).is_none());
}
