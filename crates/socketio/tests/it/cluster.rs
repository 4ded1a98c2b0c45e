//! Two replicas on one Redis: rooms span both (the Redis adapter), and a polling session's
//! requests reach the replica that holds it whichever replica they arrive at (forwarding).

use crate::helpers::*;
use serde_json::{Value, json};
use socketio::adapter::redis::RedisAdapter;
use socketio::cluster::Cluster;
use socketio::{NodeId, SocketIo};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const REDIS: &str = "redis://127.0.0.1:6379";

/// A prefix of this test's own: tests share the Redis.
fn prefix() -> String {
    format!("test-socketio-{}", NodeId::random())
}

struct Replica {
    server: TestServer,
    adapter: Arc<RedisAdapter>,
    _stop: tokio_util::sync::DropGuard,
}

async fn replica(prefix: &str) -> Replica {
    replica_pinging(prefix, Duration::from_secs(5)).await
}

async fn replica_pinging(prefix: &str, every: Duration) -> Replica {
    let node = NodeId::random();
    let adapter = RedisAdapter::with_ping_every(REDIS, prefix, node, every).unwrap();
    let stop = CancellationToken::new();
    let (running, token, cluster_prefix) = (Arc::clone(&adapter), stop.clone(), prefix.to_owned());
    let server = TestServer::start_with(
        steady(),
        node,
        adapter.clone(),
        move |io: &SocketIo, port| {
            tokio::spawn(running.run(io.clone(), token.clone()));
            let cluster = Cluster::new(
                REDIS,
                &cluster_prefix,
                node,
                &format!("http://127.0.0.1:{port}"),
                "/socket.io/",
                1_000_000,
                Duration::from_secs(1),
            )
            .unwrap();
            io.engine().set_forward(cluster.clone());
            tokio::spawn(cluster.run(token));
        },
    )
    .await;
    let replica = Replica {
        server,
        adapter,
        _stop: stop.drop_guard(),
    };
    wait_until(|| replica.adapter.is_subscribed()).await;
    replica
}

async fn wait_until(mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "not in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Subscribers of `channel` in Redis.
async fn subscribers(channel: &str) -> i64 {
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut conn)
        .await
        .unwrap();
    count
}

async fn wait_subscribers(channel: &str, expected: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let count = subscribers(channel).await;
        if count == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{channel}: {count} subscribers, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
async fn a_room_spans_both_replicas() {
    let prefix = prefix();
    let (a, b) = (replica(&prefix).await, replica(&prefix).await);
    let mut on_a = socketio_ws(&a.server, r#"{"room":"order:1"}"#).await;
    let mut also_on_a = socketio_ws(&a.server, r#"{"room":"order:1"}"#).await;
    let mut on_b = socketio_ws(&b.server, r#"{"room":"order:1"}"#).await;
    let mut elsewhere = socketio_ws(&b.server, r#"{"room":"order:2"}"#).await;
    wait_subscribers(&format!("{prefix}#/#order:1#"), 2).await;

    // Published on B: B's member, and both of A's, each once.
    assert_eq!(
        ack_of(
            &mut elsewhere,
            1,
            "publish",
            &[json!("order:1"), json!("hi")]
        )
        .await,
        json!([1]),
        "one socket on B itself"
    );
    for ws in [&mut on_a, &mut also_on_a, &mut on_b] {
        assert_eq!(
            next_text(ws).await.as_deref(),
            Some(r#"42["broadcast","hi"]"#)
        );
    }
    // The sender left out, across replicas too.
    assert_eq!(
        ack_of(
            &mut on_a,
            2,
            "broadcast",
            &[json!("order:1"), json!("not me")]
        )
        .await,
        json!([1])
    );
    for ws in [&mut also_on_a, &mut on_b] {
        assert_eq!(
            next_text(ws).await.as_deref(),
            Some(r#"42["broadcast","not me"]"#)
        );
    }
    // Nothing else arrived: a replica does not deliver its own publication twice.
    send(&mut on_a, r#"429["rooms"]"#).await;
    assert_eq!(
        next_text(&mut on_a).await.as_deref(),
        Some(r#"439[["order:1"]]"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_stays_up_across_its_pings() {
    // A subscribed connection answers PING with ["pong", ""]: reading that as an error would
    // drop and renew the subscription at every check, losing what was published meanwhile.
    let prefix = prefix();
    let a = replica_pinging(&prefix, Duration::from_millis(20)).await;
    let b = replica(&prefix).await;
    let mut on_a = socketio_ws(&a.server, r#"{"room":"r"}"#).await;
    wait_subscribers(&format!("{prefix}#/#r#"), 1).await;
    for n in 0..20 {
        b.server.io.to("r").emit("tick", &[json!(n)]);
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert!(a.adapter.is_subscribed(), "resubscribing after {n} ticks");
    }
    for n in 0..20 {
        assert_eq!(
            next_text(&mut on_a).await,
            Some(format!(r#"42["tick",{n}]"#))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_subscribes_to_a_room_while_it_has_members_of_it() {
    let prefix = prefix();
    let a = replica(&prefix).await;
    let channel = format!("{prefix}#/#chat:9#");
    assert_eq!(subscribers(&channel).await, 0);
    let mut ws = socketio_ws(&a.server, r#"{"room":"chat:9"}"#).await;
    wait_subscribers(&channel, 1).await;
    assert_eq!(
        ack_of(&mut ws, 1, "leave", &[json!("chat:9")]).await,
        json!([true])
    );
    wait_subscribers(&channel, 0).await;
    // Every replica listens on the namespace's channel (broadcasts to several rooms).
    assert_eq!(subscribers(&format!("{prefix}#/#")).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_several_rooms_reaches_each_socket_once_on_every_replica() {
    let prefix = prefix();
    let (a, b) = (replica(&prefix).await, replica(&prefix).await);
    let mut on_a = socketio_ws(&a.server, r#"{"room":"x"}"#).await;
    send(&mut on_a, r#"421["join","y"]"#).await;
    assert_eq!(next_text(&mut on_a).await.as_deref(), Some("431[true]"));
    wait_subscribers(&format!("{prefix}#/#"), 2).await;
    let sent = b.server.io.to("x").to("y").emit("both", &[json!(1)]);
    assert_eq!(sent, 0, "nobody on B");
    assert_eq!(
        next_text(&mut on_a).await.as_deref(),
        Some(r#"42["both",1]"#)
    );
    send(&mut on_a, r#"422["rooms"]"#).await;
    assert_eq!(
        next_text(&mut on_a).await.as_deref(),
        Some(r#"432[["x","y"]]"#),
        "no second copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_requests_reach_the_replica_holding_the_session() {
    let prefix = prefix();
    let (a, b) = (replica(&prefix).await, replica(&prefix).await);
    // A has announced where it is.
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let listed: bool = redis::cmd("SISMEMBER")
            .arg(format!("{prefix}:nodes"))
            .arg(a.server.node.as_str())
            .query_async(&mut conn)
            .await
            .unwrap();
        if listed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never announced itself"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sid = open_polling(&a.server, "/socket.io/").await;
    // Everything else goes to B, which forwards it to A.
    let on_b = b
        .server
        .url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
    assert_eq!(post(&on_b, "40").await, (200, "ok".to_owned()));
    let (status, body) = get(&on_b).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("40{\"sid\""), "{body}");
    assert_eq!(
        post(&on_b, r#"42["message","via B"]"#).await,
        (200, "ok".to_owned())
    );
    assert_eq!(get(&on_b).await.1, r#"42["message-back","via B"]"#);

    // The upgrade's WebSocket, through B too.
    let mut ws = ws(&b
        .server
        .ws_url(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}")))
    .await;
    send(&mut ws, "2probe").await;
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    send(&mut ws, "5").await;
    send(&mut ws, r#"42["message","upgraded"]"#).await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["message-back","upgraded"]"#)
    );
    let sid: socketio::Sid = sid.parse().unwrap();
    assert!(a.server.io.engine().session(&sid).is_some());
    assert!(b.server.io.engine().session(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_a_replica_that_is_gone_is_unknown() {
    let prefix = prefix();
    let b = replica(&prefix).await;
    let gone = socketio::Sid::new(NodeId::random());
    let url = b
        .server
        .url(&format!("/socket.io/?EIO=4&transport=polling&sid={gone}"));
    assert_eq!(get(&url).await.0, 400);
}
