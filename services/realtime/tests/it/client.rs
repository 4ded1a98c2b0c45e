//! The real `socket.io-client` v4 (the pinned one of `crates/socketio/tests/client`) against
//! the service, as the guide's apps connect: `io(url, { auth: { token } })` with its default
//! transports and with WebSocket only.

use crate::helpers::TestApp;
use domain::{Role, UserId};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PACKAGE_JSON: &str = include_str!("../../../../crates/socketio/tests/client/package.json");
const PACKAGE_LOCK: &str =
    include_str!("../../../../crates/socketio/tests/client/package-lock.json");
const CLIENT: &str = include_str!("../../../../crates/socketio/tests/client/client.mjs");

/// The client installed (once) under cargo's target dir.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_client_connects_with_its_token_and_every_event_is_acked() {
    let app = TestApp::spawn().await;
    let (_, token) = app.token(Role::Customer);
    for websocket_only in [false, true] {
        let steps = run(
            "emit",
            &app.base,
            json!({
                "auth": {"token": token},
                "websocketOnly": websocket_only,
                "event": "track-order",
                "args": [{"orderId": "0190f1c4-7b2a-7000-8000-00000000a001"}],
            }),
        )
        .await;
        assert_eq!(
            step(&steps, "ack")["args"],
            json!([{"error": {"code": "SERVICE_UNAVAILABLE", "message": "Live tracking is not available yet."}}])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_client_sees_why_its_token_was_refused() {
    let app = TestApp::spawn().await;
    let mut claims = app.tokens.claims(UserId::new(), Role::Customer, true);
    claims.iat -= 3600;
    claims.nbf = Some(claims.iat);
    claims.exp = chrono::Utc::now().timestamp() - 60;
    for websocket_only in [false, true] {
        let steps = run(
            "refused",
            &app.base,
            json!({"auth": {"token": app.tokens.sign(&claims)}, "websocketOnly": websocket_only}),
        )
        .await;
        let error = step(&steps, "connect_error");
        assert_eq!(error["message"], "Your session has expired; sign in again.");
        assert_eq!(error["data"], json!({"code": "TOKEN_EXPIRED"}));
    }
}
