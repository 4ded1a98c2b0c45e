//! The real `socket.io-client` v4 (npm, pinned in `tests/client/package-lock.json`) against
//! the server: its default transports (polling, then the upgrade) and WebSocket only; connect,
//! a refused connect, emit with an ack, a broadcast, the server's ping timeout, reconnection.
//!
//! The client is installed on first use under cargo's target dir, in a folder named after a
//! hash of the pinned versions, and reused after (`npm ci`, a file lock against two installs).

use crate::helpers::{TestServer, quick};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PACKAGE_JSON: &str = include_str!("../client/package.json");
const PACKAGE_LOCK: &str = include_str!("../client/package-lock.json");
const CLIENT: &str = include_str!("../client/client.mjs");

/// The installed client's folder.
fn client_dir() -> PathBuf {
    let hash = [PACKAGE_JSON, PACKAGE_LOCK, CLIENT]
        .iter()
        .flat_map(|part| part.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("socketio-client");
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join(format!("node-{hash:016x}"));
    let marker = dir.join(".complete");
    if !marker.exists() {
        let lock = File::create(dir.with_extension("lock")).unwrap();
        lock.lock().unwrap();
        if !marker.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("package.json"), PACKAGE_JSON).unwrap();
            std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK).unwrap();
            std::fs::write(dir.join("client.mjs"), CLIENT).unwrap();
            let output = std::process::Command::new("npm")
                .args([
                    "ci",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel",
                    "error",
                ])
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "npm ci: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::write(&marker, b"").unwrap();
        }
        lock.unlock().unwrap();
    }
    dir
}

/// Runs `scenario` against `url`; answers the steps the client printed.
async fn run(scenario: &str, url: &str, options: Value) -> Vec<Value> {
    let dir = tokio::task::spawn_blocking(client_dir).await.unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("node")
            .arg(dir.join("client.mjs"))
            .args([scenario, url, &options.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the client ran too long")
    .unwrap();
    let steps: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        output.status.success(),
        "{scenario}: {steps:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    steps
}

fn step<'a>(steps: &'a [Value], name: &str) -> &'a Value {
    steps
        .iter()
        .find(|step| step["step"] == name)
        .unwrap_or_else(|| panic!("no {name} in {steps:?}"))
}

async fn basic(websocket_only: bool) {
    let server = TestServer::start(quick()).await;
    let steps = run(
        "basic",
        &server.base,
        json!({ "websocketOnly": websocket_only }),
    )
    .await;
    let first = if websocket_only {
        "websocket"
    } else {
        "polling"
    };
    assert_eq!(step(&steps, "opened")["transport"], first);
    assert_eq!(step(&steps, "transport")["name"], "websocket");
    assert_eq!(step(&steps, "ack")["args"], json!([1, "2", {"3": [true]}]));
    assert_eq!(step(&steps, "published")["sent"], 1);
    assert_eq!(
        step(&steps, "broadcast")["payload"],
        json!({"hello": "room"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_connects_with_its_defaults_upgrades_acks_and_receives_broadcasts() {
    basic(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_on_websocket_only_acks_and_receives_broadcasts() {
    basic(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sees_a_refused_connect_with_its_message_and_data() {
    let server = TestServer::start(quick()).await;
    for websocket_only in [false, true] {
        let steps = run(
            "refused",
            &server.base,
            json!({ "auth": {"token": "refuse"}, "websocketOnly": websocket_only }),
        )
        .await;
        let error = step(&steps, "connect_error");
        assert_eq!(error["message"], "Not authorized");
        assert_eq!(error["data"], json!({"code": "NOPE"}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_is_closed_by_the_server_and_reconnects() {
    let server = TestServer::start(quick()).await;
    for websocket_only in [false, true] {
        let steps = run(
            "pingTimeout",
            &server.base,
            json!({ "websocketOnly": websocket_only }),
        )
        .await;
        let disconnect = step(&steps, "disconnect");
        // The server closed it ("transport close"/"transport error"), not the client's own
        // timer ("ping timeout"), within one ping interval and timeout (300 + 200 ms).
        let reason = disconnect["reason"].as_str().unwrap();
        assert!(reason.starts_with("transport"), "{reason}");
        assert!(
            disconnect["afterMs"].as_u64().unwrap() < 1500,
            "{disconnect}"
        );
        assert_eq!(step(&steps, "reconnected")["changed"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_session_the_server_closes_reconnects_by_itself() {
    let server = TestServer::start(quick()).await;
    for websocket_only in [false, true] {
        let steps = run(
            "reconnect",
            &server.base,
            json!({ "websocketOnly": websocket_only }),
        )
        .await;
        let reason = step(&steps, "disconnect")["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(reason.starts_with("transport"), "{reason}");
        assert_eq!(step(&steps, "reconnected")["changed"], true);
        assert_eq!(step(&steps, "ack")["args"], json!(["again"]));
    }
}
